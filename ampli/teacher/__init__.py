"""Writing a trait's seed set and SDF documents with a strong model: the teacher's settings and presets (config.py),
its clients (clients.py), the document grid (documents.py) and `ampli teach` (teach.py).

May import: config, record, hosted, inputs, models, generation, judges (the packages below it in ampli.LAYERS).
"""

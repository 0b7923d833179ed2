"""What a run can be told, and what each setting means: the typed schema of every config group (schema.py), the key
table that says for every key who reads it, when, and whether it changes results (key_table.py, `python -m
ampli.config.key_table`), and the trait files under conf/trait (traits.py).

May import: nothing else in ampli but the leaf `config` modules whose groups the schema composes (ampli.LAYERS).
"""

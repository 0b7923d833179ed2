"""Where a run's models are trained and sampled, chosen with `backend=`: this process (choice.py) or the Tinker
service (tinker/).

May import: config, record, hosted, inputs, models, generation, judges, teacher, regimes (the packages below it in
ampli.LAYERS).
"""

"""One run and a sweep of them: the iterate-judge-finetune loop (loop.py, the paper's method section), what a run
checks before it starts, the persona probe (probe/), the errors a user can fix, what a run and a sweep will cost,
the sweep's preflight, cluster resources and summary at its end, and seed calibration.

May import: config, record, hosted, inputs, models, generation, judges, teacher, regimes, backends, report (the
packages below it in ampli.LAYERS).
"""

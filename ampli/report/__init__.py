"""Local reports over finished (or running) runs: tidy tables, plots, the paper's table with its statistics over
seeds and twins, a self-contained HTML page, and `ampli replicate`.

May import: config, record, hosted, inputs, models, generation, judges, teacher, regimes, backends (the packages
below it in ampli.LAYERS).
"""

from ampli.report.build import ReportFiles, build_report
from ampli.report.runs import ReportError

__all__ = ["ReportError", "ReportFiles", "build_report"]

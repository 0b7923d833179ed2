"""Local reports over finished (or running) runs: tidy tables, plots and a self-contained HTML page."""

from ampli.report.build import ReportFiles, build_report
from ampli.report.runs import ReportError

__all__ = ["ReportError", "ReportFiles", "build_report"]

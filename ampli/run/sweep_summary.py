"""The end of a sweep (`launch.py -m`): build its report and print the one-screen summary, failed jobs included, so
the researcher learns what happened without opening files.

A Hydra callback (conf/config.yaml, hydra.callbacks) in the launching process, locally or for a SLURM array. Hydra
calls on_multirun_end only when every job succeeded; a sweep with a failed job ends with an error instead, so
launch.py calls summarise_pending() on its way out (before the interpreter shuts down: an atexit hook could no
longer import the report's libraries). The summary never raises: a sweep's outcome is its jobs', not the summary's.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("ampli")

_PENDING: list[SweepSummary] = []  # sweeps started in this process and not yet summarised


class SweepSummary(Callback):
    def __init__(self) -> None:
        self._pending: tuple[Path, str] | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._pending = (Path(config.hydra.sweep.dir), config.sweep)
        _PENDING.append(self)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.summarise()

    def summarise(self) -> None:
        """Report on the sweep directory and print the summary, once; a failure to do so is one warning line."""
        if self._pending is None:
            return
        (sweep_dir, name), self._pending = self._pending, None
        try:
            summarise_sweep(sweep_dir, name)
        except Exception as err:  # noqa: BLE001 (the summary must not turn a sweep's result into a traceback)
            log.warning("no sweep summary for %s: %s: %s", sweep_dir, type(err).__name__, err)


def summarise_sweep(sweep_dir: Path, name: str) -> None:
    from ampli.report import ReportError, build_report  # matplotlib and pandas load only now
    from ampli.report.failed_jobs import failed_jobs
    from ampli.report.runs import find_run_dirs
    from ampli.report.summary import print_failed, print_summary
    from rich.console import Console

    if not sweep_dir.is_dir():  # Hydra stopped before the first job made its directory
        return
    try:
        files = build_report(sweep_dir)
    except ReportError as err:  # e.g. every job failed before its first cycle: no table, but the failures
        log.warning("no sweep summary: %s", err)
        print_failed(failed_jobs(sweep_dir), Console())
        return
    print_summary(files.configurations_csv, files.html, title=f"sweep {name}", failed=files.failed,
                  run_dirs=find_run_dirs(sweep_dir))


def summarise_pending() -> None:
    """Summarise every sweep of this process that Hydra did not (it skips on_multirun_end when a job failed)."""
    while _PENDING:
        _PENDING.pop(0).summarise()

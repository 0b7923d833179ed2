"""The end of a sweep (`launch.py -m`): build its report and print the one-screen summary, so the researcher learns
what happened without opening files.

A Hydra callback (conf/config.yaml, hydra.callbacks) in the launching process, locally or for a SLURM array. Hydra
calls on_multirun_end only when every job succeeded; a sweep with a failed job ends with an error instead, so the
summary is also registered to run at exit: it then covers the jobs that got through at least one cycle.
"""

import atexit
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("ampli")


class SweepSummary(Callback):
    def __init__(self) -> None:
        self._pending: tuple[Path, str] | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._pending = (Path(config.hydra.sweep.dir), config.sweep)
        atexit.register(self.summarise)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.summarise()

    def summarise(self) -> None:
        """Report on the sweep directory and print the summary, once."""
        if self._pending is None:
            return
        (sweep_dir, name), self._pending = self._pending, None
        from ampli.report import ReportError, build_report  # matplotlib and pandas load only now
        from ampli.report.summary import print_summary

        try:
            files = build_report(sweep_dir)
        except ReportError as err:  # e.g. every job failed before its first cycle: nothing to summarise
            log.warning("no sweep summary: %s", err)
            return
        print_summary(files.configurations_csv, files.html, title=f"sweep {name}")

"""The one-screen summary printed at the end of a sweep and of `ampli report`: what happened, without opening files.

Traits are rows and regime x reinit (x model, when several) are columns, so a 7-trait x 3-regime sweep is a 7 x 6
table; each cell is one configuration: in how many seeds the trait amplified, the mean trait from the first cycle to
the last (with the 95% half-width when there are several seeds) and the last coherence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ampli.config.schema import REGIMES
from ampli.report.failed_jobs import FailedJob
from ampli.report.plots import REINIT_LABELS, ordered
from ampli.report.table import settings_order, swept_settings
from ampli.record.tracking import wandb_location
from ampli.judges.verdict import Tally


LEGEND = ("k/N: seeds in which the trait amplified of those with a verdict, (+p pending): p seeds without one yet (too "
          "few cycles, or running) · "
          "mean trait score, first → last cycle ± 95% half-width · mean last coherence")


def _number(value: object) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.0f}"


def cell_text(config: pd.Series) -> str:
    """`k/N amplified`, `trait first→last ±band` and `coh C`, one line each."""
    count = Tally(int(config["amplified_seeds"]), int(config["decided_seeds"]), int(config["pending_seeds"]))
    band = "" if pd.isna(config["last_trait_ci95"]) else f" ±{config['last_trait_ci95']:.0f}"
    return (f"{count.text('amplified')}\n"
            f"trait {_number(config['first_trait'])}→{_number(config['last_trait'])}{band}\n"
            f"coh {_number(config['last_coherence'])}")


def column_label(regime: str, reinit: bool, model: str, several_models: bool) -> str:
    label = f"{regime} {REINIT_LABELS[bool(reinit)]}"
    return f"{label}\n{model}" if several_models else label


def summary_table(configurations: pd.DataFrame, title: str) -> Table:
    """The configuration table (ampli.report.table.configuration_table) as a rich Table: a row per trait and value of
    the settings a sweep varied (a column each, e.g. beta and seed_examples), regime x reinit as columns."""
    swept = swept_settings(configurations)
    several_models = configurations["model"].nunique() > 1
    regimes = ordered(configurations["regime"], REGIMES)
    columns = sorted({(r, bool(i), m) for r, i, m in zip(configurations["regime"], configurations["reinit"],
                                                          configurations["model"])},
                     key=lambda c: (regimes.index(c[0]), not c[1], c[2]))
    table = Table(title=title, show_lines=True)
    table.add_column("trait", style="bold")
    for setting in swept:
        table.add_column(setting)
    for regime, reinit, model in columns:
        table.add_column(column_label(regime, reinit, model, several_models), justify="left")
    row_keys = ["trait", *swept]
    rows = configurations[row_keys].astype(str).drop_duplicates()
    rows = rows.iloc[sorted(range(len(rows)), key=lambda i: (ordered(rows["trait"]).index(rows["trait"].iloc[i]),
                                                            *settings_order(rows.iloc[i][swept])))]
    for _, row in rows.iterrows():
        here = (configurations[row_keys].astype(str) == row).all(axis=1)
        cells = []
        for regime, reinit, model in columns:
            match = configurations[here & (configurations["regime"] == regime)
                                   & (configurations["reinit"] == reinit) & (configurations["model"] == model)]
            text = "\n".join(cell_text(config) for _, config in match.iterrows()) or "·"
            cells.append(Text(text, style="green" if (match["amplified_seeds"] > 0).any() else ""))
        table.add_row(*row, *cells)
    return table


def print_failed(failed: Sequence[FailedJob], console: Console) -> None:
    """One line per job that produced no run: its number, overrides and error line."""
    if failed:
        console.print(f"{len(failed)} failed job{'s' * (len(failed) != 1)} (no run; job directories under "
                      f"{failed[0].job_dir.parent}):", style="bold red", soft_wrap=True, highlight=False)
    for job in failed:
        console.print(f"  job {job.job_dir.name} ({job.overrides}): {job.error}", soft_wrap=True, highlight=False,
                      markup=False)


def print_summary(configurations_csv: Path, html: Path, title: str, console: Console | None = None,
                  failed: Sequence[FailedJob] = (), run_dirs: Sequence[Path] = ()) -> None:
    """Print the summary of a written report, the sweep's failed jobs, where the W&B data of `run_dirs` is (and
    how to upload it), and where the report's page is."""
    console = console or Console()
    configurations = pd.read_csv(configurations_csv)
    console.print(summary_table(configurations, title))
    console.print(LEGEND, soft_wrap=True, highlight=False)
    print_failed(failed, console)
    wandb = wandb_location(run_dirs)
    if wandb:
        console.print(f"W&B: {wandb}", soft_wrap=True, highlight=False, markup=False)
    console.print(f"report: {html.resolve()}", soft_wrap=True, highlight=False)

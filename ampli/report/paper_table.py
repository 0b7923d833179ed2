"""The paper's headline table from a sweep: per regime x reinit, how many runs amplified their trait and how trait
and coherence moved from cycle 0 (the seeded model) to the last cycle.

    ampli paper-table outputs/paper-table/runs      # prints it; writes report/paper_table.{csv,md} under PATH

With several seeds there is one table per seed, then one over all of them (k of traits x seeds). A regime the
code does not know in advance (a new one) gets its own rows after the known ones, so the table grows with them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ampli.config.schema import REGIMES
from ampli.report.files import atomic_write_bytes, write_frame
from ampli.report.runs import ReportError, add_swept_settings, find_run_dirs, load_run
from ampli.report.table import settings_order
from ampli.judges.verdict import PRIMARY, first_last, run_verdict, tally

COLUMNS = ("model", "regime", "runs", "amplified", "d_trait", "d_coherence", "trait_c0", "trait_last", "coherence_last",
           "amplified_traits", "not_completed")
TEXT_COLUMNS = ("model", "regime", "runs", "amplified_traits")
PENDING_NOTE = ("k/N: k amplified of the N runs with a verdict; (+p pending): p runs without one yet (fewer cycles "
                "than the rule needs, or still running); replications (ampli replicate) are left out")
HEADERS = {
    "model": "model", "regime": "regime", "runs": "runs", "amplified": "amplified", "d_trait": "Δ trait", "d_coherence": "Δ coherence",
    "trait_c0": "trait c0", "trait_last": "trait last", "coherence_last": "coherence last",
    "amplified_traits": "amplified traits", "not_completed": "stopped early",
}


def reinit_label(reinit: bool) -> str:
    return "reinit" if reinit else "continual"


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _row(key: dict[str, Any], runs: Sequence[Mapping[str, Any]], by_seed: bool) -> dict[str, Any]:
    verdicts = [run_verdict(run) for run in runs]
    coherences = [first_last(run["cycles"], "coherence") for run in runs]
    amplified = [run for run, verdict in zip(runs, verdicts) if verdict.amplified]
    return {
        **key,
        "amplified": tally(v.amplified for v in verdicts).text(),
        "d_trait": _mean([v.delta_trait for v in verdicts]),
        "d_coherence": _mean([last - first for first, last in coherences if first is not None and last is not None]),
        "trait_c0": _mean([v.first_trait for v in verdicts]),
        "trait_last": _mean([v.last_trait for v in verdicts]),
        "coherence_last": _mean([last for _, last in coherences]),
        "amplified_traits": ", ".join(sorted(run["trait"] if by_seed else f"{run['trait']} s{run['seed']}"
                                             for run in amplified)),
        "not_completed": sum(run.get("status") != "completed" for run in runs),
    }


def regime_order(regimes: set[str]) -> list[str]:
    """The paper's regimes in their usual order, then any other regime alphabetically."""
    return [r for r in REGIMES if r in regimes] + sorted(regimes - set(REGIMES))


def paper_table(runs: Sequence[Mapping[str, Any]], by_seed: bool = True, swept: Sequence[str] = ()) -> pd.DataFrame:
    """One row per model x regime x reinit (x each value of the settings a sweep varied, `swept`: columns of their
    own after "runs"): amplified k/N (ampli.verdict.tally over the traits, times seeds when pooled), the mean over
    runs of each run's change of trait and coherence from cycle 0 to its last scored cycle, and the means of the
    levels. Replications are left out: they exist only for flagged runs, so counting them would bias k/N."""
    runs = [run for run in runs if not run.get("replication_of")]
    rows = []
    settings = sorted({tuple(run.get("swept", {}).get(c) for c in swept) for run in runs}, key=settings_order)
    for model in sorted({run["model"] for run in runs}):
        for regime in regime_order({run["regime"] for run in runs}):
            for reinit in (True, False):
                for values in settings:
                    group = [run for run in runs if run["model"] == model and run["regime"] == regime
                             and run["reinit"] == reinit and tuple(run.get("swept", {}).get(c) for c in swept) == values]
                    if group:
                        key = {"model": model, "regime": regime, "runs": reinit_label(reinit), **dict(zip(swept, values))}
                        rows.append(_row(key, group, by_seed))
    return pd.DataFrame(rows, columns=[*COLUMNS[:3], *swept, *COLUMNS[3:]])


def paper_tables(runs: Sequence[Mapping[str, Any]], swept: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """Title -> table: one per seed, and with several seeds one over all of them."""
    runs = [run for run in runs if not run.get("replication_of")]
    seeds = sorted({run["seed"] for run in runs})
    tables = {f"seed {seed}": paper_table([run for run in runs if run["seed"] == seed], swept=swept) for seed in seeds}
    if len(seeds) > 1:
        tables[f"seeds {', '.join(map(str, seeds))} together"] = paper_table(runs, by_seed=False, swept=swept)
    return tables


def _cell(column: str, value: Any) -> str:
    """A table cell as text: changes signed, levels plain, a missing mean (no scored cycle) empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:+.1f}" if column.startswith("d_") else f"{value:.1f}"
    return str(value)


def formatted_cells(frame: pd.DataFrame) -> list[list[str]]:
    return [[_cell(column, value) for column, value in record.items()] for record in frame.to_dict("records")]


def to_markdown(title: str, frame: pd.DataFrame) -> str:
    header = [HEADERS.get(c, c) for c in frame.columns]
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in formatted_cells(frame)]
    return "\n".join(lines) + "\n"


def print_tables(tables: Mapping[str, pd.DataFrame], source: str) -> None:
    """The tables on the console; the levels behind the changes stay in the files, so a table fits a terminal."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)  # a pipe or a log file: no wrapping at 80
    for title, frame in tables.items():
        shown = frame.drop(columns=["trait_last", "coherence_last"])
        if not shown["not_completed"].any():
            shown = shown.drop(columns=["not_completed"])
        table = Table(title=f"{source}: {title}", title_justify="left")
        for column in shown.columns:
            table.add_column(HEADERS.get(column, column), justify="right" if column in set(COLUMNS) - set(TEXT_COLUMNS) else "left")
        for row in formatted_cells(shown):
            table.add_row(*row)
        console.print(table)
    console.print(f"amplified: {PRIMARY.describe()}; {PENDING_NOTE}; Δ: each run's last scored cycle minus its "
                  "cycle 0, mean over the runs")


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """report/paper_table.csv (every table, with a `table` column naming it) and report/paper_table.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "paper_table.csv", out_dir / "paper_table.md"
    write_frame(pd.concat([frame.assign(table=title) for title, frame in tables.items()], ignore_index=True),
                csv_path)
    atomic_write_bytes(md_path, "\n".join(to_markdown(t, f) for t, f in tables.items()).encode("utf-8"))
    return [csv_path, md_path]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ampli paper-table",
        description="The paper's table over the runs under PATH: per regime x reinit, runs amplified (k/N) and the "
        "mean change of trait and coherence from cycle 0 to the last cycle; one table per seed.",
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="run dir, directory of runs, or multirun dir")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="where to write (default: PATH/report)")
    args = parser.parse_args(argv)
    try:
        runs = [load_run(run_dir) for run_dir in find_run_dirs(args.path)]
    except ReportError as err:
        print(f"ampli paper-table: error: {err}", file=sys.stderr)
        return 2
    tables = paper_tables(runs, add_swept_settings(runs))
    print_tables(tables, str(args.path))
    for path in write_tables(tables, args.out if args.out is not None else args.path / "report"):
        print(path)
    return 0

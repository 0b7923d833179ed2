"""The paper's headline table from a sweep: per regime x reinit, how many runs amplified their trait and how trait
and coherence moved from cycle 0 (the seeded model) to the last cycle.

    ampli paper-table outputs/paper-table/runs      # prints it; writes report/paper_table*.{csv,md} under PATH

With several seeds there is one table per seed, then one over all of them (k of traits x seeds). A regime the
code does not know in advance (a new one) gets its own rows after the known ones, so the table grows with them.
Below it, over every seed (ampli.report.paper_stats): the change from cycle 0 with its interval over seeds per
configuration and trait (the persona projection's too, for runs made with probe=persona), and continual minus
reinit over twin pairs with a sign-flip test.
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
from ampli.report.paper_stats import MEASURES, PERSONA_MEASURES, over_seeds, probed, settled, twin_contrast
from ampli.report.runs import ReportError, add_swept_settings, find_run_dirs, load_run
from ampli.report.sign_flip import DRAWS, EXACT_MAX_PAIRS
from ampli.report.table import settings_order
from ampli.judges.verdict import PRIMARY, first_last, run_verdict, tally

COLUMNS = ("model", "regime", "runs", "amplified", "d_trait", "d_coherence", "trait_c0", "trait_last", "coherence_last",
           "amplified_traits", "not_completed")
TEXT_COLUMNS = ("model", "regime", "runs", "amplified_traits")
ALL_TRAITS = "all traits"  # seed_table's row over every trait of a configuration
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


def configurations(runs: Sequence[Mapping[str, Any]], swept: Sequence[str] = ()
                   ) -> list[tuple[dict[str, Any], bool, list[Mapping[str, Any]]]]:
    """(model, regime and the swept settings' values; reinit; the runs) per configuration that has runs, in the
    table's order: model, the paper's regimes, reinit before continual, the settings' values."""
    def settings_of(run: Mapping[str, Any]) -> tuple:
        return tuple(run.get("swept", {}).get(c) for c in swept)

    found = []
    for model in sorted({run["model"] for run in runs}):
        for regime in regime_order({run["regime"] for run in runs}):
            for reinit in (True, False):
                for values in sorted({settings_of(run) for run in runs}, key=settings_order):
                    group = [run for run in runs if run["model"] == model and run["regime"] == regime
                             and run["reinit"] == reinit and settings_of(run) == values]
                    if group:
                        found.append(({"model": model, "regime": regime, **dict(zip(swept, values))}, reinit, group))
    return found


def paper_table(runs: Sequence[Mapping[str, Any]], by_seed: bool = True, swept: Sequence[str] = ()) -> pd.DataFrame:
    """One row per model x regime x reinit (x each value of the settings a sweep varied, `swept`: columns of their
    own after "runs"): amplified k/N (ampli.judges.verdict.tally over the traits, times seeds when pooled), the mean over
    runs of each run's change of trait and coherence from cycle 0 to its last scored cycle, and the means of the
    levels. Replications are left out: they exist only for flagged runs, so counting them would bias k/N."""
    runs = [run for run in runs if not run.get("replication_of")]
    rows = [_row({**key, "runs": reinit_label(reinit)}, group, by_seed)
            for key, reinit, group in configurations(runs, swept)]
    return pd.DataFrame(rows, columns=[*COLUMNS[:3], *swept, *COLUMNS[3:]])


def seed_table(runs: Sequence[Mapping[str, Any]], swept: Sequence[str] = ()) -> pd.DataFrame:
    """Per configuration, a row over all its traits, then one per trait: the mean over seeds of each measure's
    change from cycle 0 (MEASURES; the persona's only where some run was probed), its 95% half-width and its number
    of seeds (ampli.report.paper_stats.over_seeds), and how many runs were left out as pending. Replications are
    left out, as from the paper table."""
    runs = [run for run in runs if not run.get("replication_of")]
    measures = [m for m in MEASURES if m not in PERSONA_MEASURES or probed(runs)]
    rows = []
    for key, reinit, group in configurations(runs, swept):
        for trait in [ALL_TRAITS, *sorted({run["trait"] for run in group})]:
            members = [run for run in group if trait in (ALL_TRAITS, run["trait"])]
            counted = settled(members)
            row = {**key, "runs": reinit_label(reinit), "trait": trait}
            for measure in measures:
                row |= over_seeds(counted, measure)
            rows.append(row | {"pending": len(members) - len(counted)})
    columns = ["model", "regime", "runs", *swept, "trait",
               *(f"{m}{suffix}" for m in measures for suffix in ("", "_ci95", "_n")), "pending"]
    return pd.DataFrame(rows, columns=columns)


def twin_table(runs: Sequence[Mapping[str, Any]], swept: Sequence[str] = ()) -> pd.DataFrame:
    """Per model x regime (x swept settings) with both continual and reinit runs, a row per measure: continual minus
    reinit over the twin pairs (same trait and seed), its 95% interval and the sign-flip test's p
    (ampli.report.paper_stats.twin_contrast). Replications are left out."""
    runs = [run for run in runs if not run.get("replication_of")]
    sides: dict[tuple, dict[bool, list[Mapping[str, Any]]]] = {}
    keys: dict[tuple, dict[str, Any]] = {}
    for key, reinit, group in configurations(runs, swept):
        sides.setdefault(tuple(key.values()), {})[reinit] = settled(group)
        keys[tuple(key.values())] = key
    rows = []
    for name, by_reinit in sides.items():
        if len(by_reinit) < 2:
            continue
        for measure in MEASURES:
            contrast = twin_contrast(by_reinit[False], by_reinit[True], measure)
            if contrast is not None:
                rows.append({**keys[name], **contrast})
    return pd.DataFrame(rows, columns=["model", "regime", *swept, "measure", "pairs", "difference", "low", "high",
                                       "p", "exact", "unpaired"])


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


DIGITS = {"d_trait": 1, "d_projection": 3}  # projections are in the model's activation units, often below 1
SEED_NOTE = ("Δ (95% CI): each run's last scored cycle minus its cycle 0; a seed's value is the mean over its runs "
             "(its traits), a row's the mean over seeds ± the half-width of the 95% Student t interval of those "
             "per-seed means, n the number of seeds (no interval with n=1); runs without a verdict yet (pending) "
             "are left out")
TWIN_NOTE = ("continual − reinit: per twin pair (same trait and seed, sharing cycle 0), the continual run's change "
             "from cycle 0 minus the reinit run's; the mean over pairs, its 95% interval and the two-sided p of the "
             f"paired sign-flip permutation test (exact up to {EXACT_MAX_PAIRS} pairs, {DRAWS:,} random sign "
             "patterns beyond; the interval is the shifts the test keeps, none under 6 pairs); unpaired: runs whose "
             "twin is pending or missing")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _band(mean: Any, half: Any, n: Any, digits: int) -> str:
    """`+12.3 ± 4.5 (n=3)`, or `+12.3 (n=1)` without an interval; empty without a value."""
    if _missing(mean) or not n:
        return ""
    return f"{mean:+.{digits}f}" + ("" if _missing(half) else f" ± {half:.{digits}f}") + f" (n={int(n)})"


def seed_cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """seed_table's header and rows as text; the pending column only where some run is pending."""
    columns = list(frame.columns)
    keys = columns[:columns.index("trait") + 1]
    measures = [m for m in MEASURES if m in frame]
    pending = bool(frame["pending"].any())
    header = [*keys, *(f"{MEASURES[m]} (95% CI)" for m in measures), *(["pending"] * pending)]
    rows = [[str(record[k]) for k in keys]
            + [_band(record[m], record[f"{m}_ci95"], record[f"{m}_n"], DIGITS[m]) for m in measures]
            + ([str(record["pending"])] * pending) for record in frame.to_dict("records")]
    return header, rows


def _p_text(p: Any) -> str:
    return "" if _missing(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"


def twin_cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """twin_table's header and rows as text; the unpaired column only where some run has no twin."""
    columns = list(frame.columns)
    keys = columns[:columns.index("measure")]
    unpaired = bool(frame["unpaired"].any())
    header = [*keys, "measure", "pairs", "continual − reinit", "95% interval", "p", *(["unpaired"] * unpaired)]
    rows = []
    for record in frame.to_dict("records"):
        digits = DIGITS[record["measure"]]
        difference = "" if _missing(record["difference"]) else f"{record['difference']:+.{digits}f}"
        interval = ("" if _missing(record["low"]) else
                    f"[{record['low']:+.{digits}f}, {record['high']:+.{digits}f}]")
        rows.append([*(str(record[k]) for k in keys), MEASURES[record["measure"]], str(record["pairs"]), difference,
                     interval, _p_text(record["p"]), *([str(record["unpaired"])] * unpaired)])
    return header, rows


def _markdown(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_markdown(title: str, frame: pd.DataFrame) -> str:
    return _markdown(title, [HEADERS.get(c, c) for c in frame.columns], formatted_cells(frame))


SEED_TITLE = "change from cycle 0 over seeds, per configuration and trait"
TWIN_TITLE = "continual − reinit, paired by trait and seed"


def print_tables(tables: Mapping[str, pd.DataFrame], source: str, seeds: pd.DataFrame | None = None,
                 twins: pd.DataFrame | None = None) -> None:
    """The tables on the console; the levels behind the changes stay in the files, so a table fits a terminal. The
    statistics over seeds come in tables of their own below, rather than as more columns of a wide one."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)  # a pipe or a log file: no wrapping at 80

    def show(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], left: int) -> None:
        table = Table(title=f"{source}: {title}", title_justify="left")
        for i, column in enumerate(header):
            table.add_column(column, justify="left" if i < left else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)

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
    if seeds is not None and not seeds.empty:
        header, rows = seed_cells(seeds)
        show(SEED_TITLE, header, rows, left=header.index("trait") + 1)
        console.print(SEED_NOTE)
    if twins is not None and not twins.empty:
        header, rows = twin_cells(twins)
        show(TWIN_TITLE, header, rows, left=header.index("measure") + 1)
        console.print(TWIN_NOTE)


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: Path, seeds: pd.DataFrame | None = None,
                 twins: pd.DataFrame | None = None) -> list[Path]:
    """report/paper_table.csv (every table, with a `table` column naming it), paper_table_seeds.csv and
    paper_table_twins.csv (the statistics over seeds, where there are any), and report/paper_table.md with all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "paper_table.csv", out_dir / "paper_table.md"
    write_frame(pd.concat([frame.assign(table=title) for title, frame in tables.items()], ignore_index=True),
                csv_path)
    written = [csv_path]
    sections = [to_markdown(t, f) for t, f in tables.items()]
    for frame, name, title, cells, note in ((seeds, "paper_table_seeds.csv", SEED_TITLE, seed_cells, SEED_NOTE),
                                            (twins, "paper_table_twins.csv", TWIN_TITLE, twin_cells, TWIN_NOTE)):
        if frame is not None and not frame.empty:
            write_frame(frame, out_dir / name)
            written.append(out_dir / name)
            sections.append(_markdown(title, *cells(frame)) + f"\n{note}.\n")
    atomic_write_bytes(md_path, "\n".join(sections).encode("utf-8"))
    return [*written, md_path]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ampli paper-table",
        description="The paper's table over the runs under PATH: per regime x reinit, runs amplified (k/N) and the "
        "mean change of trait and coherence from cycle 0 to the last cycle; one table per seed. Then, over every "
        "seed: per configuration and trait the change from cycle 0 (and the persona projection's, for runs made "
        "with probe=persona) with its 95%% interval over seeds, and continual minus reinit over twin pairs (same "
        "trait and seed) with a paired sign-flip test.",
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="run dir, directory of runs, or multirun dir")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="where to write (default: PATH/report)")
    args = parser.parse_args(argv)
    try:
        runs = [load_run(run_dir) for run_dir in find_run_dirs(args.path)]
    except ReportError as err:
        print(f"ampli paper-table: error: {err}", file=sys.stderr)
        return 2
    swept = add_swept_settings(runs)
    tables, seeds, twins = paper_tables(runs, swept), seed_table(runs, swept), twin_table(runs, swept)
    print_tables(tables, str(args.path), seeds, twins)
    for path in write_tables(tables, args.out if args.out is not None else args.path / "report", seeds, twins):
        print(path)
    return 0

"""The report's replication section: for each run `ampli replicate` re-ran with other seeds, in how many of those
replications the trait amplified, a 95% Wilson interval on that rate, and every seed's trait curve with the
original's drawn over them.

A replication names its original in metrics.json ("replication_of"); one that adopted the original's cycle 0 also
varies loop.cycle0_from, one with --fresh-cycle0 does not, and the two kinds are counted apart.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ampli.detector import PRIMARY_RULE
from ampli.report.html import section
from ampli.report.plots import PANEL_SIZE, SCORE_LIMITS, png_bytes
from ampli.report.runs import METRICS_FILE, load_run
from ampli.report.stats import wilson_interval

CYCLE0_KEY = "loop.cycle0_from"  # the replication mechanism's loop knob, among a run's varied settings
CYCLE0_KINDS = {False: "original's", True: "fresh"}
ORIGINAL_COLOR, REPLICATION_COLOR, AMPLIFIED_COLOR = "#d62728", "#7f7f7f", "#9467bd"
PANEL_COLUMNS = 3


def is_fresh(run: dict[str, Any]) -> bool:
    """A replication that trained its own cycle 0 (--fresh-cycle0) rather than adopting the original's."""
    return CYCLE0_KEY not in (run.get("varies") or {})


def replication_groups(runs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(original, its replications of one kind) per replicated run, in name order. The original is the run beside
    its replications (read from disk where the report's path does not include it, as in a replication sweep's own
    report); where it is gone, a stand-in holds its name."""
    by_dir = {Path(run["run_dir"]).resolve(): run for run in runs}
    groups: dict[tuple[Path, bool], list[dict[str, Any]]] = {}
    for run in runs:
        if run.get("replication_of"):
            original_dir = (Path(run["run_dir"]).parent / run["replication_of"]).resolve()
            groups.setdefault((original_dir, is_fresh(run)), []).append(run)
    return [(by_dir.get(original_dir) or _read_original(original_dir), sorted(replicas, key=lambda r: r["seed"]))
            for (original_dir, _), replicas in sorted(groups.items(), key=lambda item: (item[0][0].name, item[0][1]))]


def _read_original(run_dir: Path) -> dict[str, Any]:
    if (run_dir / METRICS_FILE).is_file():
        return load_run(run_dir)
    return {"run_name": run_dir.name, "cycles": []}


def _verdict(run: dict[str, Any]) -> bool | None:
    """True/False once the run's amplification is decided, else None (too few cycles yet)."""
    result = run.get("amplification") or {}
    return bool(result.get("amplified")) if result.get("decided") else None


def replication_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per replicated run and kind of cycle 0: k of N decided replications amplified, and the rate's 95%
    Wilson interval."""
    rows = []
    for original, replicas in replication_groups(runs):
        verdicts = [_verdict(r) for r in replicas]
        decided = [v for v in verdicts if v is not None]
        k, n = sum(decided), len(decided)
        low, high = wilson_interval(k, n) if n else (math.nan, math.nan)
        rows.append({
            "original": original["run_name"],
            "original_amplified": _verdict(original),
            "cycle0": CYCLE0_KINDS[is_fresh(replicas[0])],
            "seeds": ",".join(str(r["seed"]) for r in replicas),
            "amplified_in": f"{k}/{n}",
            "amplified": k,
            "replications": n,
            "pending": len(verdicts) - n,
            "rate": k / n if n else math.nan,
            "rate_ci95_low": low,
            "rate_ci95_high": high,
        })
    return pd.DataFrame(rows)


def _trait_curve(run: dict[str, Any]) -> tuple[list[int], list[float]]:
    points = [(c["cycle"], c["trait"]) for c in run["cycles"] if c.get("trait") is not None]
    return [x for x, _ in points], [y for _, y in points]


def plot_replications(runs: list[dict[str, Any]]) -> Figure:
    """A panel per replicated run: each replication's trait per cycle (purple where it amplified), the original's
    in red on top."""
    groups = replication_groups(runs)
    columns = min(PANEL_COLUMNS, len(groups))
    rows = math.ceil(len(groups) / columns)
    fig = Figure(figsize=(PANEL_SIZE[0] * columns * 1.2, PANEL_SIZE[1] * rows * 1.2), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax, (original, replicas) in zip(axes.flat, groups):
        for replica in replicas:
            color = AMPLIFIED_COLOR if _verdict(replica) else REPLICATION_COLOR
            ax.plot(*_trait_curve(replica), color=color, linewidth=1, alpha=0.7)
        if original["cycles"]:
            ax.plot(*_trait_curve(original), color=ORIGINAL_COLOR, linewidth=2.5, marker="o", markersize=3)
        amplified = sum(bool(_verdict(r)) for r in replicas)
        ax.set_title(f"{original['run_name']}\n{CYCLE0_KINDS[is_fresh(replicas[0])]} cycle 0: "
                     f"{amplified}/{len(replicas)} amplified", fontsize=7)
        ax.set_ylim(*SCORE_LIMITS)
        ax.set_xlabel("cycle")
        ax.set_ylabel("trait score")
    legend = [Line2D([], [], color=ORIGINAL_COLOR, linewidth=2.5, label="original"),
              Line2D([], [], color=AMPLIFIED_COLOR, label="replication, amplified"),
              Line2D([], [], color=REPLICATION_COLOR, label="replication, not amplified")]
    fig.legend(handles=legend, loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    return fig


def replication_html(table: pd.DataFrame, png: bytes) -> str:
    """The report page's section: the table and the figure."""
    shown = table.drop(columns=["amplified", "replications"])
    return section("replications", "Replications", f"""<p>Each flagged run re-run with other seeds (<code>ampli
replicate</code>): k of N replications amplified ({html.escape(PRIMARY_RULE)}), with the 95% Wilson score interval on
that rate. cycle0: the replications adopted the original's cycle 0, or trained their own (--fresh-cycle0). In the
figure the original is red, replications that amplified purple, the others grey.</p>
<div class="wide">{shown.to_html(index=False, na_rep="", float_format=lambda x: f"{x:.2f}", border=0)}</div>
<img alt="Replications: trait score vs cycle" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">""")


def print_replications(replications_csv: Path) -> None:
    """One console line per replicated run: `<original>: k/N replications amplified (95% Wilson: lo-hi)`."""
    for row in pd.read_csv(replications_csv).itertuples():
        interval = "" if pd.isna(row.rate) else f" (rate {row.rate:.2f}, 95% Wilson {row.rate_ci95_low:.2f}-{row.rate_ci95_high:.2f})"
        pending = f", {row.pending} without a verdict yet" if row.pending else ""
        print(f"{row.original}: {row.amplified_in} replications amplified, {row.cycle0} cycle 0{interval}{pending}")

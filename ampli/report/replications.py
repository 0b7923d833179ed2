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

from ampli.report.html import section
from ampli.report.plots import (REINIT_STYLES, SCORE_LIMITS, THRESHOLD_STYLE, encoding_legend, figure_legend,
                                new_drawn, panel_axes, panel_figure, trait_color, wrapped)
from ampli.report.runs import METRICS_FILE, load_run
from ampli.report.stats import wilson_interval
from ampli.judges.verdict import PRIMARY, Rule, flagging_rule, run_verdict, tally

CYCLE0_KEY = "loop.cycle0_from"  # the replication mechanism's loop knob, among a run's varied settings
CYCLE0_KINDS = {False: "original's", True: "fresh"}


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


def judging_rule(original: dict[str, Any]) -> Rule:
    """The rule `ampli replicate` flagged the original by (recorded in its directory), so its replications are judged
    by the same rule; the primary rule where none was recorded."""
    return (flagging_rule(Path(original["run_dir"])) if original.get("run_dir") else None) or PRIMARY


def replication_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per replicated run and kind of cycle 0: k of N decided replications amplified under the rule that
    flagged the original (ampli.judges.verdict.tally; pending ones apart), and the rate's 95% Wilson interval."""
    rows = []
    for original, replicas in replication_groups(runs):
        rule = judging_rule(original)
        count = tally(run_verdict(r, rule).amplified for r in replicas)
        low, high = wilson_interval(count.amplified, count.decided) if count.decided else (math.nan, math.nan)
        rows.append({
            "original": original["run_name"],
            "original_amplified": run_verdict(original, rule).amplified if original["cycles"] else None,
            "rule": rule.describe(),
            "cycle0": CYCLE0_KINDS[is_fresh(replicas[0])],
            "seeds": ",".join(str(r["seed"]) for r in replicas),
            "amplified_in": count.text(),
            "amplified": count.amplified,
            "replications": count.decided,
            "pending": count.pending,
            "rate": count.rate if count.rate is not None else math.nan,
            "rate_ci95_low": low,
            "rate_ci95_high": high,
        })
    return pd.DataFrame(rows)


def _trait_curve(run: dict[str, Any]) -> tuple[list[int], list[float]]:
    points = [(c["cycle"], c["trait"]) for c in run["cycles"] if c.get("trait") is not None]
    return [x for x, _ in points], [y for _, y in points]


def plot_replications(runs: list[dict[str, Any]]) -> Figure:
    """A panel per replicated run, in the report's encoding (colour: the trait, line style: reinit or continual): the
    original bold with markers, each replication thin (faint where it did not amplify under the rule that flagged
    the original), and the threshold (the original's cycle 0 + the rule's threshold) where that rule is the
    threshold rule."""
    groups = replication_groups(runs)
    fig = panel_figure(len(groups))
    drawn = {**new_drawn(), "replication": set()}
    for ax, (original, replicas) in zip(panel_axes(fig, len(groups), sharex=False), groups):
        rule = judging_rule(original)
        verdicts = [run_verdict(r, rule) for r in replicas]
        for replica, verdict in zip(replicas, verdicts):
            color, style = trait_color(replica["trait"]), REINIT_STYLES[bool(replica["reinit"])]
            drawn["traits"].add(replica["trait"])
            drawn["reinits"].add(bool(replica["reinit"]))
            drawn["replication"].add(bool(verdict.amplified))
            ax.plot(*_trait_curve(replica), color=color, linestyle=style, linewidth=1,
                    alpha=0.9 if verdict.amplified else 0.3)
        if original["cycles"]:
            color, style = trait_color(original["trait"]), REINIT_STYLES[bool(original["reinit"])]
            ax.plot(*_trait_curve(original), color=color, linestyle=style, linewidth=2.5, marker="o", markersize=3)
            cycle0 = original["cycles"][0].get("trait")
            if rule.name == "threshold" and cycle0 is not None:
                ax.axhline(cycle0 + rule.detector.threshold, color=color, linestyle=THRESHOLD_STYLE, linewidth=1.2)
                drawn["threshold"] = rule.detector.threshold
        count = tally(v.amplified for v in verdicts)
        ax.set_title(wrapped(f"{original['run_name']}\n{CYCLE0_KINDS[is_fresh(replicas[0])]} cycle 0: "
                             f"{count.text()} amplified"), fontsize=7)
        ax.set_ylim(*SCORE_LIMITS)
        ax.set_xlabel("cycle")
        ax.set_ylabel("trait score")
    legend = encoding_legend({k: v for k, v in drawn.items() if k != "threshold"})
    legend.append(Line2D([], [], color="grey", linewidth=2.5, marker="o", markersize=3, label="original"))
    legend += [Line2D([], [], color="grey", linewidth=1, alpha=0.9 if amplified else 0.3,
                      label="replication, amplified" if amplified else "replication, not amplified")
               for amplified in (True, False) if amplified in drawn["replication"]]
    if drawn.get("threshold"):
        legend.append(Line2D([], [], color="grey", linestyle=THRESHOLD_STYLE, lw=1.2,
                             label=f"threshold: cycle 0 + {drawn['threshold']:g}"))
    figure_legend(fig, legend)
    fig.suptitle("Replications: trait score vs cycle")
    return fig


def replication_html(table: pd.DataFrame, png: bytes) -> str:
    """The report page's section: the table and the figure."""
    shown = table.drop(columns=["amplified", "replications"])
    return section("replications", "Replications", f"""<p>Each flagged run re-run with other seeds (<code>ampli
replicate</code>): k of N replications amplified under the rule that flagged the original (column rule; pending
replications apart), with the 95% Wilson score interval on
that rate. cycle0: the replications adopted the original's cycle 0, or trained their own (--fresh-cycle0). In the
figure the original is bold, replications that amplified solid, the others faint; colour is the trait, as in every
figure.</p>
<div class="wide">{shown.to_html(index=False, na_rep="", float_format=lambda x: f"{x:.2f}", border=0)}</div>
<img alt="Replications: trait score vs cycle" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">""")


def print_replications(replications_csv: Path) -> None:
    """One console line per replicated run: `<original>: k/N replications amplified (95% Wilson: lo-hi)`."""
    for row in pd.read_csv(replications_csv).itertuples():
        interval = "" if pd.isna(row.rate) else f" (rate {row.rate:.2f}, 95% Wilson {row.rate_ci95_low:.2f}-{row.rate_ci95_high:.2f})"
        pending = f", {row.pending} without a verdict yet" if row.pending else ""
        print(f"{row.original}: {row.amplified_in} replications amplified, {row.cycle0} cycle 0{interval}{pending}")

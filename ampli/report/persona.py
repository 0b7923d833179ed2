"""The report's persona-probe figures (runs made with probe=persona; none otherwise).

  persona_vs_cycle              per run: persona_projection vs cycle (base too) beside the judge's trait score
  persona_shift_vs_trait        every cycle of every run: the shift along the vector from the base model (last
                                prompt token) vs the judge's trait change from the base model, Pearson r and its
                                95% interval (Fisher z)
  persona_predicted_vs_measured cycle n's predicted shift (before training) vs the projection change model n made
                                from the model it started from

A run whose vector did not separate its held-out answers has no projections and is left out of all three.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from ampli.report.plots import PANEL_SIZE, REINIT_LABELS, REINIT_STYLES, trait_color
from ampli.report.stats import Z_95

COLUMNS = 4
TRAIT_COLOR = "#7f7f7f"


def probed_runs(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs with a separating persona vector."""
    return [r for r in runs if (r.get("probe") or {}).get("separates")]


def pearson(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, tuple[float, float] | None] | None:
    """Pearson r and its 95% interval (Fisher z, from 4 pairs); None with under 3 pairs or a constant side."""
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    r = max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
    if n < 4 or abs(r) == 1:
        return r, None
    z, half = math.atanh(r), Z_95 / math.sqrt(n - 3)
    return r, (math.tanh(z - half), math.tanh(z + half))


def r_text(result: tuple[float, tuple[float, float] | None] | None, n: int) -> str:
    if result is None:
        return f"r undefined (n={n})"
    r, interval = result
    return f"r = {r:.2f}" + (f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "") + f" (n={n})"


def shift_pairs(runs: Sequence[dict[str, Any]]) -> list[tuple[float, float, bool]]:
    """(persona_shift, judge trait change from the base model, reinit) of every measured cycle."""
    pairs = []
    for run in runs:
        base = (run.get("base") or {}).get("trait")
        for c in run["cycles"]:
            if c.get("persona_shift") is not None and c.get("trait") is not None and base is not None:
                pairs.append((c["persona_shift"], c["trait"] - base, bool(run["reinit"])))
    return pairs


def predicted_pairs(runs: Sequence[dict[str, Any]]) -> list[tuple[float, float, bool]]:
    """(cycle n's predicted shift, model n's projection minus that of the model it started from, reinit)."""
    pairs = []
    for run in runs:
        projections = {"base": (run.get("base") or {}).get("persona_projection")}
        projections |= {f"model_{c['cycle']}": c.get("persona_projection") for c in run["cycles"]}
        for c in run["cycles"]:
            start = projections.get(c.get("persona_predicted_from"))
            if None not in (c.get("persona_predicted_shift"), c.get("persona_projection"), start):
                pairs.append((c["persona_predicted_shift"], c["persona_projection"] - start, bool(run["reinit"])))
    return pairs


def distinguishing_names(names: Sequence[str]) -> list[str]:
    """Run names without the parts ("-"-separated) that every one of them shares: a grid's names differ in a few
    parts, and whole names are too long for a panel's title. A lone run keeps its whole name."""
    shared = set.intersection(*(set(name.split("-")) for name in names)) if len(names) > 1 else set()
    return ["-".join(part for part in name.split("-") if part not in shared) or name for name in names]


def plot_projection_vs_cycle(runs: Sequence[dict[str, Any]]) -> Figure:
    """A panel per run: the projection (left axis; the trait's colour, solid for reinit and dashed for continual, as
    in every figure of the report) and the judge's trait (right, grey)."""
    columns = min(COLUMNS, len(runs))
    rows = math.ceil(len(runs) / columns)
    fig = Figure(figsize=(PANEL_SIZE[0] * columns * 1.15, PANEL_SIZE[1] * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, run, name in zip(axes.flat, runs, distinguishing_names([run["run_name"] for run in runs])):
        cycles = [-1] + [c["cycle"] for c in run["cycles"]]
        metrics = [run["base"], *run["cycles"]]
        ax.plot(cycles, [m.get("persona_projection") for m in metrics], marker="o",
                linestyle=REINIT_STYLES[bool(run["reinit"])], color=trait_color(run["trait"]))
        ax.set_ylabel("persona projection")
        ax.set_xticks(cycles, ["base", *map(str, cycles[1:])])
        ax.set_xlabel("cycle")
        ax.set_title(f"{name}\nlayer {run['probe']['layer']}, d={run['probe']['separation']:.1f}",
                     fontsize=8)
        judge = ax.twinx()
        judge.plot(cycles, [m.get("trait") for m in metrics], "s--", color=TRAIT_COLOR)
        judge.set_ylabel("judge trait", color=TRAIT_COLOR)
    for ax in list(axes.flat)[len(runs):]:
        ax.set_visible(False)
    return fig


def plot_pairs(pairs: list[tuple[float, float, bool]], xlabel: str, ylabel: str) -> tuple[Figure, str]:
    """A scatter (filled: reinit, open: continual) titled with Pearson r over every point; returns the figure and r's
    text."""
    text = r_text(pearson([p[0] for p in pairs], [p[1] for p in pairs]), len(pairs))
    fig = Figure(figsize=(PANEL_SIZE[0] * 1.4, PANEL_SIZE[1] * 1.4), layout="constrained")
    ax = fig.subplots()
    for reinit in (True, False):
        xy = [(x, y) for x, y, r in pairs if r == reinit]
        if xy:
            ax.scatter(*zip(*xy), edgecolors="black", facecolors="black" if reinit else "none",
                       label=REINIT_LABELS[reinit], s=18)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(text, fontsize=9)
    if pairs:
        ax.legend(fontsize=8)
    return fig, text


def persona_figures(runs: Sequence[dict[str, Any]]) -> tuple[dict[str, Figure], dict[str, str]]:
    """File name -> figure and file name -> caption; both empty when no run has a separating persona vector."""
    probed = probed_runs(runs)
    if not probed:
        return {}, {}
    shift, shift_r = plot_pairs(shift_pairs(probed), "persona shift from base (last prompt token)",
                                "judge trait change from base")
    predicted, predicted_r = plot_pairs(predicted_pairs(probed), "predicted shift (before training)",
                                        "measured projection change")
    figures = {"persona_vs_cycle": plot_projection_vs_cycle(probed), "persona_shift_vs_trait": shift,
               "persona_predicted_vs_measured": predicted}
    captions = {
        "persona_vs_cycle": "Persona projection vs cycle (line), beside the judge's trait score (grey, right axis)",
        "persona_shift_vs_trait": f"Persona shift vs judge trait change, every cycle of every run: {shift_r}",
        "persona_predicted_vs_measured": ("Predicted shift of cycle n's samples vs the projection change model n "
                                          f"made from the model it started from: {predicted_r}"),
    }
    return figures, captions

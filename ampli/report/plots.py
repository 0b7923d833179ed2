"""Report figures, one visual encoding in all of them: colour is the trait, line style reinit (solid) or continual
(dashed), and a panel is a regime with the settings a sweep varied that it reads (and the model, with several). Only
configurations that exist get a panel; a legend lists only what its figure draws.

Figures are built with matplotlib.figure.Figure (rendered by Agg), not pyplot, so no global state or display
backend is involved and many reports can be built in one process.
"""

from __future__ import annotations

import io
import logging
import math
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ampli.config.schema import REGIMES, TRAITS
from ampli.report.runs import NOT_READ
from ampli.report.stats import mean_band
from ampli.report.table import BASE_CYCLE, settings_order
from ampli.judges.verdict import PRIMARY

REINIT_LABELS = {True: "reinit", False: "continual"}
REINIT_STYLES = {True: "-", False: "--"}
# A trait keeps its colour in every figure.
TRAIT_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#d62728")
BASE_COLOR = "black"
THRESHOLD_STYLE = ":"  # dotted, in the trait's colour
SCORE_LIMITS = (-3, 103)
SCORE_RANGE = (0.0, 100.0)  # what a score can be: bands are clipped to it
SHARE_LIMITS = (-0.03, 1.03)  # em_rate and other shares of answers
SHARE_RANGE = (0.0, 1.0)
MIN_BAND_SEEDS = 3  # with 2 seeds the 95% t factor is 12.7: a band that wide says nothing, so none is drawn
PANEL_SIZE = (3.4, 2.6)  # inches per panel
WRAP_COLUMNS = 4  # panels a row
TITLE_CHARACTERS = 38  # a panel title wraps at this many characters, so neighbouring titles never overlap
DPI = 150  # PNG resolution: sharp on a slide, and >= what journals ask of line art previews
LEGEND_ENTRY_WIDTH = 1.9  # inches one legend entry takes at font size 8, so a legend row never outgrows its figure
THRESHOLD = PRIMARY.detector.threshold  # the primary rule: a later cycle >= cycle 0 + this
# Fonts embedded whole (TrueType, Type 42) in PDFs: many venues reject the Type 3 fonts matplotlib writes by default.
PDF_FONTS = {"pdf.fonttype": 42, "ps.fonttype": 42}
# fontTools, which subsets those fonts, reports every table it touches at INFO: dozens of lines per figure.
logging.getLogger("fontTools").setLevel(logging.WARNING)


def ordered(values: Any, preferred: Sequence[Any] = ()) -> list[Any]:
    """Unique values, those in `preferred` first in its order, the rest sorted."""
    unique = set(values)
    return [v for v in preferred if v in unique] + sorted(unique - set(preferred), key=str)


def trait_color(trait: str) -> str:
    """The trait's colour: the shipped traits in their fixed order, others after them by name."""
    index = TRAITS.index(trait) if trait in TRAITS else len(TRAITS) + sum(map(ord, trait))
    return TRAIT_PALETTE[index % len(TRAIT_PALETTE)]


def wrapped(title: str) -> str:
    """A title in lines of at most TITLE_CHARACTERS, its own line breaks kept."""
    return "\n".join(textwrap.fill(line, TITLE_CHARACTERS) for line in title.split("\n"))


def panel_label(row: pd.Series, swept: Sequence[str], several_models: bool) -> str:
    """A panel's title: the regime (and model), then each varied setting the regime reads."""
    head = f"{row['regime']} · {row['model']}" if several_models else str(row["regime"])
    settings = " ".join(f"{s}={row[s]}" for s in swept if str(row[s]) != NOT_READ)
    return head + (f"\n{settings}" if settings else "")


def with_panels(table: pd.DataFrame, swept: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """table with a "panel" column, and the panels in order: regimes as the paper orders them, then settings."""
    several_models = table["model"].nunique() > 1
    table = table.assign(panel=[panel_label(row, swept, several_models) for _, row in table.iterrows()])
    regimes = ordered(table["regime"], REGIMES)
    firsts = table.drop_duplicates("panel")
    order = sorted(range(len(firsts)), key=lambda i: (regimes.index(firsts["regime"].iloc[i]), firsts["model"].iloc[i],
                                                      settings_order([firsts[s].iloc[i] for s in swept])))
    return table, [firsts["panel"].iloc[i] for i in order]


def panel_axes(fig: Figure, count: int, sharex: bool = True) -> list[Axes]:
    """`count` panels in rows of WRAP_COLUMNS, the unused cells of the last row hidden."""
    ncols = min(count, WRAP_COLUMNS)
    axes = fig.subplots(math.ceil(count / ncols), ncols, sharex=sharex, sharey=True, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    for ax in axes[:count]:
        ax.xaxis.set_tick_params(labelbottom=True)  # shared x hides them above hidden panels otherwise
        ax.grid(alpha=0.3)
    return list(axes[:count])


def panel_figure(count: int, extra_height: float = 1.3) -> Figure:
    ncols = min(count, WRAP_COLUMNS)
    rows = math.ceil(count / ncols)
    width, height = PANEL_SIZE
    return Figure(figsize=(width * max(ncols, 2) + 0.6, height * rows + extra_height), layout="constrained")


def _cycle_axis(ax: Axes) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: "base" if x == BASE_CYCLE else f"{x:.0f}"))


def _band(values: pd.Series) -> float:
    """Half-width of the 95% interval of a cycle's mean over seeds; NaN below MIN_BAND_SEEDS seeds (no band)."""
    known = values.dropna().tolist()
    half = mean_band(known)[1] if len(known) >= MIN_BAND_SEEDS else None
    return float("nan") if half is None else half


def _plot_panel(ax: Axes, panel: pd.DataFrame, metric: str, drawn: dict[str, Any], value_range: tuple[float, float],
                threshold: float | None) -> None:
    """One panel: per configuration (trait x reinit x config), the mean over seeds bold, with several seeds a thin
    line each, with MIN_BAND_SEEDS or more the mean's 95% band (Student t) clipped to what the metric can be; the
    base model as a black diamond; with `threshold`, a dotted line at the cycle-0 mean + threshold."""
    for (trait, reinit, _), runs in panel.groupby(["trait", "reinit", "config"], sort=True):
        color, style = trait_color(trait), REINIT_STYLES[bool(reinit)]
        drawn["traits"].add(trait)
        drawn["reinits"].add(bool(reinit))
        cycles = runs[runs["cycle"] > BASE_CYCLE]
        seeds = cycles.groupby("run_dir")
        if seeds.ngroups > 1:
            drawn["seed"] = True
            for _, run in seeds:
                ax.plot(run["cycle"], run[metric], color=color, linestyle=style, linewidth=0.7, alpha=0.5)
        stats = cycles.groupby("cycle")[metric].agg(["mean", _band])
        ax.plot(stats.index, stats["mean"], color=color, linestyle=style, linewidth=2, marker="o", ms=3)
        spread = stats.dropna()
        if not spread.empty:
            drawn["band"] = True
            low = (spread["mean"] - spread["_band"]).clip(*value_range)
            high = (spread["mean"] + spread["_band"]).clip(*value_range)
            ax.fill_between(spread.index, low, high, color=color, alpha=0.15, linewidth=0)
        base = runs.loc[runs["cycle"] == BASE_CYCLE, metric].dropna()
        if not base.empty:
            ax.scatter([BASE_CYCLE], [base.mean()], marker="D", s=22, color=BASE_COLOR, zorder=3)
            drawn["base"] = True
        first = stats["mean"].dropna()
        if threshold is not None and not first.empty:
            ax.axhline(first.iloc[0] + threshold, color=color, linestyle=THRESHOLD_STYLE, linewidth=1.2, alpha=0.9)
            drawn["threshold"] = True


def encoding_legend(drawn: dict[str, Any], threshold: float | None = None) -> list[Artist]:
    """Legend entries for what a figure drew: each trait's colour, each line style, then the marks it used."""
    handles: list[Artist] = [Line2D([], [], color=trait_color(t), lw=2, label=t) for t in ordered(drawn["traits"], TRAITS)]
    handles += [Line2D([], [], color="grey", lw=2, ls=REINIT_STYLES[r], label=REINIT_LABELS[r])
                for r in (True, False) if r in drawn["reinits"]]
    if drawn.get("seed"):
        handles.append(Line2D([], [], color="grey", linewidth=0.7, alpha=0.6, label="one seed (bold: mean)"))
    if drawn.get("band"):
        handles.append(Patch(color="grey", alpha=0.25, label=f"95% band of the mean (>= {MIN_BAND_SEEDS} seeds)"))
    if drawn.get("last"):
        handles.append(Line2D([], [], marker="o", color="grey", markeredgecolor="black", ls="", label="last cycle"))
    if drawn.get("base"):
        handles.append(Line2D([], [], color=BASE_COLOR, marker="D", ms=5, ls="", label="base model (unseeded)"))
    if drawn.get("threshold"):
        handles.append(Line2D([], [], color="grey", linestyle=THRESHOLD_STYLE, lw=1.2,
                              label=f"threshold: cycle 0 + {threshold:g}"))
    return handles


def new_drawn() -> dict[str, Any]:
    return {"traits": set(), "reinits": set()}


def figure_legend(fig: Figure, handles: list[Artist], fontsize: float = 8) -> None:
    """The legend below the panels, in as many columns as fit the figure's width (none cut at its edges)."""
    ncols = max(1, min(len(handles), int(fig.get_figwidth() // LEGEND_ENTRY_WIDTH)))
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False, fontsize=fontsize)


def plot_vs_cycle(table: pd.DataFrame, metric: str, label: str, limits: tuple[float, float] = SCORE_LIMITS,
                  swept: Sequence[str] = (), threshold: float | None = None, title: str | None = None) -> Figure:
    """`metric` vs cycle, a panel per configuration that exists (with_panels), wrapped in rows of WRAP_COLUMNS; with
    `threshold`, each configuration's cycle-0 mean + threshold as a dotted line. Bands are clipped to 0-100 on the
    score scale, 0-1 on the share scale."""
    if metric not in table:
        raise ValueError(f"cannot plot {metric!r}: the table has no such column (columns: {list(table.columns)})")
    table, panels = with_panels(table, swept)
    value_range = SHARE_RANGE if limits == SHARE_LIMITS else SCORE_RANGE
    fig = panel_figure(len(panels))
    drawn = new_drawn()
    for ax, panel in zip(panel_axes(fig, len(panels)), panels):
        ax.set_title(wrapped(panel), fontsize=9)
        ax.set_ylim(*limits)
        ax.set_xlabel("cycle")
        _cycle_axis(ax)
        _plot_panel(ax, table[table["panel"] == panel], metric, drawn, value_range, threshold)
    fig.supylabel(label)
    fig.suptitle(wrapped(title or f"{label[:1].upper()}{label[1:]} vs cycle"))
    figure_legend(fig, encoding_legend(drawn, threshold))
    return fig


def plot_regime_grid(table: pd.DataFrame, swept: Sequence[str] = (), threshold: float = THRESHOLD
                     ) -> dict[tuple[str, bool], Figure]:
    """(regime, reinit) -> the trait score vs cycle of that cell of the paper's table, drawn as plot_vs_cycle draws
    every configuration (the same colours and line styles), its threshold lines drawn."""
    figures = {}
    for regime in ordered(table["regime"], REGIMES):
        for reinit in (True, False):
            cell = table[(table["regime"] == regime) & (table["reinit"] == reinit)]
            if not cell.empty:
                figures[(regime, reinit)] = plot_vs_cycle(
                    cell, "trait_score", "trait score", swept=swept, threshold=threshold,
                    title=f"Trait score vs cycle: {regime}, {REINIT_LABELS[reinit]}")
    return figures


def _tradeoff_panel(ax: Axes, runs: pd.DataFrame, drawn: dict[str, Any]) -> None:
    """Each run's (trait, coherence) path over cycles, its last cycle circled, its base model as a black diamond."""
    for _, run in runs.groupby("run_dir"):
        trait, reinit = run["trait"].iloc[0], bool(run["reinit"].iloc[0])
        color = trait_color(trait)
        drawn["traits"].add(trait)
        drawn["reinits"].add(reinit)
        cycles = run[run["cycle"] > BASE_CYCLE].sort_values("cycle")
        ax.plot(cycles["trait_score"], cycles["coherence"], color=color, linestyle=REINIT_STYLES[reinit], lw=1,
                alpha=0.7, marker="o", ms=2.5)
        last = cycles.iloc[-1:]
        ax.scatter(last["trait_score"], last["coherence"], color=color, s=40, edgecolors="black", linewidths=0.5,
                   zorder=3)
        drawn["last"] = drawn.get("last") or not last.empty
        base = run[(run["cycle"] == BASE_CYCLE)].dropna(subset=["trait_score", "coherence"])
        if not base.empty:
            ax.scatter(base["trait_score"], base["coherence"], marker="D", color=BASE_COLOR, s=22, zorder=3)
            drawn["base"] = True


def plot_tradeoff(table: pd.DataFrame, swept: Sequence[str] = ()) -> Figure:
    """Coherence vs trait score, a panel per configuration that exists (as plot_vs_cycle), each run's path."""
    table, panels = with_panels(table, swept)
    fig = panel_figure(len(panels))
    drawn = new_drawn()
    for ax, panel in zip(panel_axes(fig, len(panels), sharex=True), panels):
        ax.set_title(wrapped(panel), fontsize=9)
        ax.set(xlim=SCORE_LIMITS, ylim=SCORE_LIMITS, xlabel="trait score")
        _tradeoff_panel(ax, table[table["panel"] == panel], drawn)
    figure_legend(fig, encoding_legend(drawn))
    fig.supylabel("coherence")
    fig.suptitle("Trait vs coherence")
    return fig


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure rendered as PNG, exactly figsize x dpi pixels."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def pdf_bytes(fig: Figure) -> bytes:
    """The figure as vector PDF, for a paper, its fonts embedded as TrueType (PDF_FONTS)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(PDF_FONTS):
        fig.savefig(buffer, format="pdf")
    return buffer.getvalue()

"""Report figures: metric vs cycle faceted by trait x regime (seeds as a mean with its 95% band), and the
trait-coherence trade-off.

Figures are built with matplotlib.figure.Figure (rendered by Agg), not pyplot, so no global state or display
backend is involved and many reports can be built in one process.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ampli.config import REGIMES, TRAITS
from ampli.detector import DetectorConfig
from ampli.report.stats import mean_band
from ampli.report.table import BASE_CYCLE

REINIT_COLORS = {True: "#1f77b4", False: "#d62728"}
REINIT_LABELS = {True: "reinit", False: "continual"}
REGIME_COLORS = {"sft": "#1f77b4", "sdf": "#2ca02c", "dpo": "#9467bd", "distill": "#ff7f0e"}
# A trait keeps its colour in every per-regime figure (tab10 without the regime colours' blue and red clash).
TRAIT_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
BASE_COLOR = "black"
MODEL_LINESTYLES = ("-", "--", ":", "-.")
SCORE_LIMITS = (-3, 103)
SHARE_LIMITS = (-0.03, 1.03)  # em_rate and other shares of answers
PANEL_SIZE = (3.4, 2.6)  # inches per facet
TRADEOFF_COLUMNS = 4
WRAP_COLUMNS = 4  # panels a row when the traits of a single regime wrap
DPI = 150  # PNG resolution: sharp on a slide, and >= what journals ask of line art previews
LEGEND_ENTRY_WIDTH = 1.9  # inches one legend entry takes at font size 8, so a legend row never outgrows its figure
THRESHOLD = DetectorConfig().threshold  # the primary rule: a later cycle >= cycle 0 + this


def ordered(values: Iterable[Any], preferred: Sequence[Any] = ()) -> list[Any]:
    """Unique values, those in `preferred` first in its order, the rest sorted."""
    unique = set(values)
    return [v for v in preferred if v in unique] + sorted(unique - set(preferred), key=str)


def trait_color(trait: str) -> str:
    """The trait's colour: the shipped traits in their fixed order, others after them by name."""
    index = TRAITS.index(trait) if trait in TRAITS else len(TRAITS) + sum(map(ord, trait))
    return TRAIT_PALETTE[index % len(TRAIT_PALETTE)]


def panel_title(trait: str, regime: str) -> str:
    """trait | regime; a panel of varied settings (with_panels) names them on a second line."""
    trait, _, settings = trait.partition("\n")
    return f"{trait} | {regime}" + (f"\n{settings}" if settings else "")


def with_panels(table: pd.DataFrame, swept: Sequence[str]) -> pd.DataFrame:
    """table with a "panel" column: the trait, and the values of the settings a sweep varied (a panel per value),
    e.g. "bliss\nbeta=0.05 seed_examples=32" (the settings on a line of their own, so a title fits its panel)."""
    panel = table["trait"].astype(str)
    for column in swept:
        panel = panel + ("\n" if column == swept[0] else " ") + column + "=" + table[column].astype(str)
    return table.assign(panel=panel)


def _cycle_axis(ax: Axes) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: "base" if x == BASE_CYCLE else f"{x:.0f}"))


def _series_label(reinit: bool, model: str, several_models: bool) -> str:
    return f"{REINIT_LABELS[bool(reinit)]} · {model}" if several_models else REINIT_LABELS[bool(reinit)]


def _band(values: pd.Series) -> float:
    """Half-width of the 95% interval of a cycle's mean over seeds (NaN for a single seed: no band)."""
    half = mean_band(values.dropna().tolist())[1] if values.notna().any() else None
    return float("nan") if half is None else half


def _plot_panel(ax: Axes, panel: pd.DataFrame, metric: str, models: list[str], handles: dict[str, Any],
                color_of: Callable[[pd.DataFrame], str], threshold: float | None) -> None:
    """One facet: per configuration, a thin line per seed, the mean over seeds bold with its 95% band (Student t),
    the base model as a black diamond and, with `threshold`, a dashed line at the cycle-0 mean + threshold."""
    for (reinit, model, _), runs in panel.groupby(["reinit", "model", "config"], sort=True):
        color = color_of(runs)
        style = MODEL_LINESTYLES[models.index(model) % len(MODEL_LINESTYLES)]
        cycles = runs[runs["cycle"] > BASE_CYCLE]
        for _, run in cycles.groupby("run_dir"):
            ax.plot(run["cycle"], run[metric], color=color, linestyle=style, linewidth=0.7, alpha=0.5)
        stats = cycles.groupby("cycle")[metric].agg(["mean", _band])
        label = _series_label(reinit, model, len(models) > 1)
        (line,) = ax.plot(stats.index, stats["mean"], color=color, linestyle=style, linewidth=2, marker="o", ms=3)
        handles.setdefault(label, line)
        spread = stats.dropna()
        if not spread.empty:
            low, high = spread["mean"] - spread["_band"], spread["mean"] + spread["_band"]
            ax.fill_between(spread.index, low, high, color=color, alpha=0.15, linewidth=0)
        base = runs.loc[runs["cycle"] == BASE_CYCLE, metric].dropna()
        if not base.empty:
            ax.scatter([BASE_CYCLE], [base.mean()], marker="D", s=22, color=BASE_COLOR, zorder=3)
            handles["_base"] = True
        first = stats["mean"].dropna()
        if threshold is not None and not first.empty:
            ax.axhline(first.iloc[0] + threshold, color=color, linestyle=(0, (4, 3)), linewidth=1, alpha=0.8)
            handles["_threshold"] = True


def _key_handles(handles: dict[str, Any], threshold: float | None) -> list[Artist]:
    """Legend entries for what the series share: a seed's thin line, the band, the base model, the threshold."""
    keys: list[Artist] = [Line2D([], [], color="grey", linewidth=0.7, alpha=0.6, label="one seed"),
                          Patch(color="grey", alpha=0.25, label="95% band of the mean")]
    if handles.get("_base"):
        keys.append(Line2D([], [], color=BASE_COLOR, marker="D", ms=5, ls="", label="base model (unseeded)"))
    if handles.get("_threshold"):
        keys.append(Line2D([], [], color="grey", linestyle=(0, (4, 3)), label=f"threshold: cycle 0 + {threshold:g}"))
    return keys


def figure_legend(fig: Figure, handles: list[Artist], fontsize: float = 8) -> None:
    """The legend below the panels, in as many columns as fit the figure's width (none cut at its edges)."""
    ncols = max(1, min(len(handles), int(fig.get_figwidth() // LEGEND_ENTRY_WIDTH)))
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False, fontsize=fontsize)


def facet_grid(traits: list[str], regimes: list[str]) -> dict[tuple[str, str], tuple[int, int]]:
    """(trait, regime) -> (row, column) of its panel: traits as rows and regimes as columns, except that a single
    regime's traits wrap into rows of WRAP_COLUMNS (7 traits make a 2 x 4 block, not a one-panel-wide strip)."""
    if len(regimes) == 1:
        ncols = min(len(traits), WRAP_COLUMNS)
        return {(trait, regimes[0]): divmod(i, ncols) for i, trait in enumerate(traits)}
    return {(trait, regime): (row, col) for row, trait in enumerate(traits) for col, regime in enumerate(regimes)}


def plot_vs_cycle(table: pd.DataFrame, metric: str, label: str, limits: tuple[float, float] = SCORE_LIMITS,
                  swept: Sequence[str] = (), threshold: float | None = None, by_trait: bool = False,
                  title: str | None = None) -> Figure:
    """`metric` vs cycle, one panel per trait x regime (facet_grid), coloured by reinit (by_trait: by trait, for a
    figure of one regime x reinit); with `swept` settings, one panel per trait and value of them (with_panels); with
    `threshold`, each configuration's cycle-0 mean + threshold as a dashed line.

    Panel titles are panel_title(trait, regime) (by_trait: the trait, as the figure's title names the regime),
    row-major, so callers can read the facet layout from fig.axes.
    """
    if metric not in table:
        raise ValueError(f"cannot plot {metric!r}: the table has no such column (columns: {list(table.columns)})")
    table = with_panels(table, swept)
    traits = ordered(table["panel"])
    regimes = ordered(table["regime"], REGIMES)
    models = ordered(table["model"])
    grid = facet_grid(traits, regimes)
    nrows, ncols = max(r for r, _ in grid.values()) + 1, max(c for _, c in grid.values()) + 1
    width, height = PANEL_SIZE
    fig = Figure(figsize=(width * ncols + 0.6, height * nrows + 1.1), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    handles: dict[str, Any] = {}

    def color_of(runs: pd.DataFrame) -> str:
        return trait_color(runs["trait"].iloc[0]) if by_trait else REINIT_COLORS[bool(runs["reinit"].iloc[0])]

    for (trait, regime), (row, col) in grid.items():
        ax = axes[row][col]
        ax.set_title(trait if by_trait else panel_title(trait, regime), fontsize=10)  # by_trait: one regime, titled
        ax.set_ylim(*limits)
        ax.grid(alpha=0.3)
        ax.xaxis.set_tick_params(labelbottom=True)  # shared x hides them above hidden panels otherwise
        _cycle_axis(ax)
        panel = table[(table["panel"] == trait) & (table["regime"] == regime)]
        if panel.empty:
            ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", va="center", color="grey")
        else:
            _plot_panel(ax, panel, metric, models, handles, color_of, threshold)
    for row in range(nrows):
        for col in range(ncols):
            axes[row][col].set_visible((row, col) in grid.values())
    for col in range(ncols):  # the lowest panel of each column names the axis
        axes[max(r for r, c in grid.values() if c == col)][col].set_xlabel("cycle")
    fig.supylabel(label)
    fig.suptitle(title or f"{label[:1].upper()}{label[1:]} vs cycle")
    series = sorted((text for text in handles if not text.startswith("_")),
                    key=lambda text: (not text.startswith(REINIT_LABELS[True]), text))
    means = [] if by_trait else [handles[text] for text in series]
    for line, text in zip(means, series):
        line.set_label(f"{text} (mean)")
    if by_trait and len(models) > 1:  # colour is the trait, so the model's line style needs its own key
        means = [Line2D([], [], color="grey", lw=2, ls=MODEL_LINESTYLES[i % len(MODEL_LINESTYLES)], label=model)
                 for i, model in enumerate(models)]
    elif by_trait:
        means = [Line2D([], [], color="grey", lw=2, marker="o", ms=3, label="mean over seeds")]
    figure_legend(fig, [*means, *_key_handles(handles, threshold)])
    return fig


def plot_regime_grid(table: pd.DataFrame, swept: Sequence[str] = (), threshold: float = THRESHOLD
                     ) -> dict[tuple[str, bool], Figure]:
    """(regime, reinit) -> the trait score vs cycle of that cell of the paper's table: a panel per trait (and value
    of the swept settings), each trait in its own colour, its threshold line drawn."""
    figures = {}
    for regime in ordered(table["regime"], REGIMES):
        for reinit in (True, False):
            cell = table[(table["regime"] == regime) & (table["reinit"] == reinit)]
            if not cell.empty:
                figures[(regime, reinit)] = plot_vs_cycle(
                    cell, "trait_score", "trait score", swept=swept, threshold=threshold, by_trait=True,
                    title=f"Trait score vs cycle: {regime}, {REINIT_LABELS[reinit]}")
    return figures


def _tradeoff_panel(ax: Axes, runs: pd.DataFrame, colors: dict[str, str]) -> None:
    """Each run's (trait, coherence) path over cycles, its last cycle emphasised, its base model as a black x."""
    for _, run in runs.groupby("run_dir"):
        color = colors[run["regime"].iloc[0]]
        style = "-" if run["reinit"].iloc[0] else "--"
        cycles = run[run["cycle"] > BASE_CYCLE].sort_values("cycle")
        ax.plot(cycles["trait_score"], cycles["coherence"], color=color, linestyle=style, lw=1, alpha=0.6,
                marker="o", ms=2.5)
        last = cycles.iloc[-1:]
        ax.scatter(last["trait_score"], last["coherence"], color=color, s=40, edgecolors="black", linewidths=0.5,
                   zorder=3)
        base = run[run["cycle"] == BASE_CYCLE]
        ax.scatter(base["trait_score"], base["coherence"], marker="x", color=BASE_COLOR, s=25, zorder=3)


def _tradeoff_legend(colors: dict[str, str], reinits: Iterable[bool], has_base: bool) -> list[Line2D]:
    """Entries only for what is drawn: the regimes, the reinit settings present, the base model if evaluated."""
    handles = [Line2D([], [], color=color, lw=2, label=regime) for regime, color in colors.items()]
    handles += [Line2D([], [], color="grey", ls="-" if r else "--", label=REINIT_LABELS[r]) for r in reinits]
    handles.append(Line2D([], [], marker="o", color="grey", markeredgecolor="black", ls="", label="last cycle"))
    if has_base:
        handles.append(Line2D([], [], marker="x", color=BASE_COLOR, ls="", label="base model (unseeded)"))
    return handles


def plot_tradeoff(table: pd.DataFrame, swept: Sequence[str] = ()) -> Figure:
    """Coherence vs trait score, one panel per trait (titled by the trait; with `swept` settings, per trait and
    value of them), up to 4 panels a row.

    Colour is the regime, line style the reinit setting.
    """
    table = with_panels(table, swept)
    traits = ordered(table["panel"])
    regimes = ordered(table["regime"], REGIMES)
    colors = {regime: REGIME_COLORS.get(regime, f"C{i + 3}") for i, regime in enumerate(regimes)}
    ncols = min(len(traits), TRADEOFF_COLUMNS)
    nrows = -(-len(traits) // ncols)
    fig = Figure(figsize=(3.3 * ncols + 0.6, 3.1 * nrows + 1.1), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for index, ax in enumerate(axes):
        if index >= len(traits):
            ax.set_visible(False)
            continue
        ax.set_title(traits[index], fontsize=10)
        ax.set(xlim=SCORE_LIMITS, ylim=SCORE_LIMITS, xlabel="trait score")
        ax.xaxis.set_tick_params(labelbottom=True)  # shared x hides them above the hidden panels otherwise
        ax.grid(alpha=0.3)
        _tradeoff_panel(ax, table[table["panel"] == traits[index]], colors)
    reinits = [r for r in (True, False) if (table["reinit"] == r).any()]
    figure_legend(fig, _tradeoff_legend(colors, reinits, (table["cycle"] == BASE_CYCLE).any()))
    fig.supylabel("coherence")
    fig.suptitle("Trait vs coherence")
    return fig


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure rendered as PNG, exactly figsize x dpi pixels."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def pdf_bytes(fig: Figure) -> bytes:
    """The figure as vector PDF, for a paper."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf")
    return buffer.getvalue()

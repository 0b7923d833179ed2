"""Report figures: metric vs cycle faceted by trait x regime (seeds as a mean with its 95% band), and the
trait-coherence trade-off.

Figures are built with matplotlib.figure.Figure (rendered by Agg), not pyplot, so no global state or display
backend is involved and many reports can be built in one process.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ampli.config import REGIMES
from ampli.report.stats import mean_band
from ampli.report.table import BASE_CYCLE

REINIT_COLORS = {True: "#1f77b4", False: "#d62728"}
REINIT_LABELS = {True: "reinit", False: "continual"}
REGIME_COLORS = {"sft": "#1f77b4", "sdf": "#2ca02c", "dpo": "#9467bd", "distill": "#ff7f0e"}
MODEL_LINESTYLES = ("-", "--", ":", "-.")
SCORE_LIMITS = (-3, 103)
SHARE_LIMITS = (-0.03, 1.03)  # em_rate and other shares of answers
PANEL_SIZE = (3.4, 2.6)  # inches per facet
TRADEOFF_COLUMNS = 4
WRAP_COLUMNS = 4  # panels a row when the traits of a single regime wrap


def ordered(values: Iterable[Any], preferred: Sequence[Any] = ()) -> list[Any]:
    """Unique values, those in `preferred` first in its order, the rest sorted."""
    unique = set(values)
    return [v for v in preferred if v in unique] + sorted(unique - set(preferred), key=str)


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


def _plot_panel(ax: Axes, panel: pd.DataFrame, metric: str, models: list[str], handles: dict[str, Any]) -> None:
    """One facet: per configuration, a thin line per seed, the mean over seeds bold with its 95% band (Student t),
    the base model as a diamond."""
    for (reinit, model, _), runs in panel.groupby(["reinit", "model", "config"], sort=True):
        color = REINIT_COLORS[bool(reinit)]
        style = MODEL_LINESTYLES[models.index(model) % len(MODEL_LINESTYLES)]
        cycles = runs[runs["cycle"] > BASE_CYCLE]
        for _, run in cycles.groupby("run_dir"):
            ax.plot(run["cycle"], run[metric], color=color, linestyle=style, linewidth=0.7, alpha=0.35)
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
            ax.scatter([BASE_CYCLE], [base.mean()], marker="D", facecolors="none", edgecolors=color, zorder=3)


def facet_grid(traits: list[str], regimes: list[str]) -> dict[tuple[str, str], tuple[int, int]]:
    """(trait, regime) -> (row, column) of its panel: traits as rows and regimes as columns, except that a single
    regime's traits wrap into rows of WRAP_COLUMNS (7 traits make a 2 x 4 block, not a one-panel-wide strip)."""
    if len(regimes) == 1:
        ncols = min(len(traits), WRAP_COLUMNS)
        return {(trait, regimes[0]): divmod(i, ncols) for i, trait in enumerate(traits)}
    return {(trait, regime): (row, col) for row, trait in enumerate(traits) for col, regime in enumerate(regimes)}


def plot_vs_cycle(table: pd.DataFrame, metric: str, label: str, limits: tuple[float, float] = SCORE_LIMITS,
                  swept: Sequence[str] = ()) -> Figure:
    """`metric` vs cycle, one panel per trait x regime (facet_grid), coloured by reinit; with `swept` settings, one
    panel per trait and value of them (with_panels).

    Panel titles are panel_title(trait, regime), row-major, so callers can read the facet layout from fig.axes.
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
    for (trait, regime), (row, col) in grid.items():
        ax = axes[row][col]
        ax.set_title(panel_title(trait, regime), fontsize=10)
        ax.set_ylim(*limits)
        ax.grid(alpha=0.3)
        ax.xaxis.set_tick_params(labelbottom=True)  # shared x hides them above hidden panels otherwise
        _cycle_axis(ax)
        panel = table[(table["panel"] == trait) & (table["regime"] == regime)]
        if panel.empty:
            ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", va="center", color="grey")
        else:
            _plot_panel(ax, panel, metric, models, handles)
    for row in range(nrows):
        for col in range(ncols):
            axes[row][col].set_visible((row, col) in grid.values())
    for col in range(ncols):  # the lowest panel of each column names the axis
        axes[max(r for r, c in grid.values() if c == col)][col].set_xlabel("cycle (base = unseeded model)")
    fig.supylabel(label)
    fig.suptitle(f"{label} vs cycle: mean over seeds (bold) with its 95% band, one thin line per seed")
    labels = sorted(handles, key=lambda text: (not text.startswith(REINIT_LABELS[True]), text))
    fig.legend([handles[text] for text in labels], labels, loc="outside lower center", ncols=len(labels), frameon=False)
    return fig


def _tradeoff_panel(ax: Axes, runs: pd.DataFrame, colors: dict[str, str]) -> None:
    """Each run's (trait, coherence) path over cycles, its last cycle emphasised, its base model as an x."""
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
        ax.scatter(base["trait_score"], base["coherence"], marker="x", color="black", s=25, zorder=3)


def _tradeoff_legend(colors: dict[str, str]) -> list[Line2D]:
    handles = [Line2D([], [], color=color, lw=2, label=regime) for regime, color in colors.items()]
    handles += [Line2D([], [], color="grey", ls="-" if r else "--", label=REINIT_LABELS[r]) for r in (True, False)]
    handles += [
        Line2D([], [], marker="o", color="grey", markeredgecolor="black", ls="", label="last cycle"),
        Line2D([], [], marker="x", color="black", ls="", label="base model"),
    ]
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
    fig = Figure(figsize=(3.3 * ncols + 0.6, 3.1 * nrows + 0.9), layout="constrained")
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
    handles = _tradeoff_legend(colors)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 2 + 2 * ncols), frameon=False,
               fontsize=8)
    fig.supylabel("coherence")
    fig.suptitle("Amplification vs coherence")
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """The figure rendered as PNG, exactly figsize x dpi pixels."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()

"""`ampli report`: from run directories on disk to tables, plots and one HTML page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ampli.report.files import atomic_write_bytes, write_frame
from ampli.report.failed_jobs import FailedJob, failed_jobs
from ampli.report.html import (attention_html, configuration_html, figures_html, full_tables_html, lexicon_html,
                               paper_html, render_html, samples_html, setup_html)
from ampli.report.paper_table import paper_tables, seed_table, twin_table
from ampli.report.persona import persona_figures
from ampli.report.plots import (REINIT_LABELS, SHARE_LIMITS, THRESHOLD, pdf_bytes, plot_regime_grid, plot_tradeoff,
                                plot_vs_cycle, png_bytes)
from ampli.report.replications import plot_replications, replication_html, replication_table
from ampli.report.runs import add_swept_settings, find_run_dirs, load_run
from ampli.report.samples import run_samples
from ampli.report.setup_info import run_setup
from ampli.report.table import configuration_table, runs_table, verdict_table
from ampli.judges.verdict import PRIMARY, tally

REPORT_DIR = "report"


@dataclass(frozen=True)
class ReportFiles:
    """Where each part of a report was written."""

    out_dir: Path
    table_csv: Path
    table_parquet: Path
    verdicts_csv: Path
    configurations_csv: Path
    plots: dict[str, Path]  # name -> PNG
    vector_plots: dict[str, Path]  # name -> the same figure as PDF
    html: Path
    failed: list[FailedJob] = field(default_factory=list)  # sweep jobs without a run, with their error
    replications_csv: Path | None = None  # only where replications exist (ampli replicate)

    def all(self) -> list[Path]:
        return [self.table_csv, self.table_parquet, self.verdicts_csv, self.configurations_csv, *self.plots.values(),
                *self.vector_plots.values(), self.html, *([self.replications_csv] if self.replications_csv else [])]


ENCODING = ("colour: the trait; solid: reinit, dashed: continual; a panel per regime and the varied settings it "
            "reads")


def report_figures(table: pd.DataFrame, swept: list[str]) -> tuple[dict[str, Figure], dict[str, str]]:
    """File name -> figure, and file name -> caption: the trait score per regime x reinit (one figure each), then the
    overviews of every configuration (trait, coherence, EM rate vs cycle) and the trait-coherence trade-off."""
    figures: dict[str, Figure] = {}
    captions: dict[str, str] = {}
    for (regime, reinit), fig in plot_regime_grid(table, swept).items():
        name = f"trait_vs_cycle_{regime}_{REINIT_LABELS[reinit]}"
        figures[name], captions[name] = fig, (
            f"Trait score vs cycle, {regime} {REINIT_LABELS[reinit]} ({ENCODING}); the dotted line at cycle 0 + "
            f"{THRESHOLD:g} is the amplification threshold")
    figures["trait_vs_cycle"] = plot_vs_cycle(table, "trait_score", "trait score", swept=swept, threshold=THRESHOLD)
    captions["trait_vs_cycle"] = f"Trait score vs cycle, every configuration ({ENCODING})"
    figures["coherence_vs_cycle"] = plot_vs_cycle(table, "coherence", "coherence", swept=swept)
    captions["coherence_vs_cycle"] = f"Coherence vs cycle ({ENCODING})"
    if "em_rate" in table:  # runs made before ampli computed it have none
        figures["em_rate_vs_cycle"] = plot_vs_cycle(table, "em_rate", "EM rate", limits=SHARE_LIMITS, swept=swept)
        captions["em_rate_vs_cycle"] = ("EM rate vs cycle (share of eval answers that are coherent and strongly show "
                                        f"the trait; {ENCODING})")
    figures["trait_vs_coherence"] = plot_tradeoff(table, swept=swept)
    captions["trait_vs_coherence"] = (f"Amplification-coherence trade-off: each run's path, its last cycle circled "
                                      f"({ENCODING})")
    return figures, captions


def report_page(path: Path, runs: list[dict], swept: list[str], verdicts: pd.DataFrame,
                configurations: pd.DataFrame, table: pd.DataFrame, images: dict[str, bytes],
                failed: list[FailedJob], replications: str = "") -> str:
    """report.html: its sections in reading order (ampli.report.html)."""
    count = tally(None if pd.isna(flag) else bool(flag) for flag in verdicts["amplified"])
    summary = (f"{len(runs)} runs, amplified in {count.text()} ({PRIMARY.describe()})"
               + (f", {len(failed)} failed job{'s' * (len(failed) != 1)}" if failed else ""))
    sections = [
        setup_html(run_setup(runs), str(path.resolve())),
        lexicon_html(verdicts),
        paper_html(paper_tables(runs, swept), seed_table(runs, swept), twin_table(runs, swept)),
        replications,
        attention_html(failed, verdicts),
        configuration_html(configurations),
        figures_html(images),
        samples_html(run_samples(runs), len(runs)),
        full_tables_html(verdicts, table),
    ]
    return render_html("ampli report", sections, summary)


def build_report(path: Path, out: Path | None = None) -> ReportFiles:
    """Report on every run at or under `path`, written to `out` (default: path/report/)."""
    path = Path(path)
    runs = [load_run(run_dir) for run_dir in find_run_dirs(path)]
    swept = add_swept_settings(runs)
    table, verdicts = runs_table(runs), verdict_table(runs)
    configurations = configuration_table(verdicts, swept)
    out_dir = Path(out) if out is not None else path / REPORT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)

    figures, captions = report_figures(table, swept)
    replications = replication_table(runs)
    if not replications.empty:
        figures["replications"] = plot_replications(runs)
        captions["replications"] = "Replications: trait score vs cycle, the original run and each replication"
    persona, persona_captions = persona_figures(runs)  # probe=persona runs only
    figures, captions = {**figures, **persona}, {**captions, **persona_captions}
    images = {name: png_bytes(fig) for name, fig in figures.items()}

    files = ReportFiles(
        out_dir=out_dir,
        table_csv=out_dir / "runs.csv",
        table_parquet=out_dir / "runs.parquet",
        verdicts_csv=out_dir / "verdicts.csv",
        configurations_csv=out_dir / "configurations.csv",
        plots={name: out_dir / f"{name}.png" for name in figures},
        vector_plots={name: out_dir / f"{name}.pdf" for name in figures},
        html=out_dir / "report.html",
        failed=failed_jobs(path),
        replications_csv=None if replications.empty else out_dir / "replications.csv",
    )
    write_frame(table, files.table_csv)
    write_frame(table, files.table_parquet)
    write_frame(verdicts, files.verdicts_csv)
    write_frame(configurations, files.configurations_csv)
    if files.replications_csv:
        write_frame(replications, files.replications_csv)
    for name, png in images.items():
        atomic_write_bytes(files.plots[name], png)
        atomic_write_bytes(files.vector_plots[name], pdf_bytes(figures[name]))
    replication_section = "" if replications.empty else replication_html(replications, images.pop("replications"))
    page = report_page(path, runs, swept, verdicts, configurations, table,
                       {captions[name]: png for name, png in images.items()}, files.failed, replication_section)
    atomic_write_bytes(files.html, page.encode("utf-8"))
    return files

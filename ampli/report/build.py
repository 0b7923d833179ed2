"""`ampli report`: from run directories on disk to tables, plots and one HTML page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ampli.report.files import atomic_write_bytes, write_frame
from ampli.report.html import render_html
from ampli.report.paper_table import paper_tables
from ampli.report.plots import SHARE_LIMITS, plot_tradeoff, plot_vs_cycle, png_bytes
from ampli.report.replications import plot_replications, replication_html, replication_table
from ampli.report.runs import add_swept_settings, find_run_dirs, load_run
from ampli.report.table import configuration_table, runs_table, verdict_table

REPORT_DIR = "report"


@dataclass(frozen=True)
class ReportFiles:
    """Where each part of a report was written."""

    out_dir: Path
    table_csv: Path
    table_parquet: Path
    verdicts_csv: Path
    configurations_csv: Path
    plots: dict[str, Path]
    html: Path
    replications_csv: Path | None = None  # only where replications exist (ampli replicate)

    def all(self) -> list[Path]:
        return [self.table_csv, self.table_parquet, self.verdicts_csv, self.configurations_csv, *self.plots.values(),
                self.html, *([self.replications_csv] if self.replications_csv else [])]


def build_report(path: Path, out: Path | None = None) -> ReportFiles:
    """Report on every run at or under `path`, written to `out` (default: path/report/)."""
    path = Path(path)
    runs = [load_run(run_dir) for run_dir in find_run_dirs(path)]
    swept = add_swept_settings(runs)
    table, verdicts = runs_table(runs), verdict_table(runs)
    configurations = configuration_table(verdicts, swept)
    out_dir = Path(out) if out is not None else path / REPORT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)

    captions = {
        "trait_vs_cycle": "Trait score vs cycle",
        "coherence_vs_cycle": "Coherence vs cycle",
        "em_rate_vs_cycle": "EM rate vs cycle (share of eval answers that are coherent and strongly show the trait)",
        "trait_vs_coherence": "Amplification-coherence trade-off",
    }
    figures = {
        "trait_vs_cycle": plot_vs_cycle(table, "trait_score", "trait score", swept=swept),
        "coherence_vs_cycle": plot_vs_cycle(table, "coherence", "coherence", swept=swept),
        "trait_vs_coherence": plot_tradeoff(table, swept=swept),
    }
    if "em_rate" in table:  # runs made before ampli computed it have none
        figures["em_rate_vs_cycle"] = plot_vs_cycle(table, "em_rate", "EM rate", limits=SHARE_LIMITS, swept=swept)
    replications = replication_table(runs)
    if not replications.empty:
        figures["replications"] = plot_replications(runs)
    images = {name: png_bytes(fig) for name, fig in figures.items()}

    files = ReportFiles(
        out_dir=out_dir,
        table_csv=out_dir / "runs.csv",
        table_parquet=out_dir / "runs.parquet",
        verdicts_csv=out_dir / "verdicts.csv",
        configurations_csv=out_dir / "configurations.csv",
        plots={name: out_dir / f"{name}.png" for name in figures},
        html=out_dir / "report.html",
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
    replication_section = "" if replications.empty else replication_html(replications, images.pop("replications"))
    page = render_html(
        title="ampli report",
        source=str(path.resolve()),
        verdicts=verdicts,
        configurations=configurations,
        images={captions[name]: png for name, png in images.items()},
        table=table,
        paper_tables=paper_tables(runs, swept),
        replications=replication_section,
    )
    atomic_write_bytes(files.html, page.encode("utf-8"))
    return files

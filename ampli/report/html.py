"""One self-contained HTML page (images inlined as data URIs) that can be mailed or attached as-is.

The page reads top to bottom as a researcher asks: what was run, the paper's table, which runs need a look (failed,
undecided), amplification per configuration, the figures, sample answers, and the full tables last (collapsed; the
CSV files beside the page hold the same). Each section is one small function returning HTML, so a new section is one
more function and one more entry in render_html's list.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd

from ampli.report.failed_jobs import FailedJob
from ampli.report.paper_table import (ALL_TRAITS, COLUMNS, HEADERS, PENDING_NOTE, SEED_NOTE, SEED_TITLE,
                                      TEXT_COLUMNS, TWIN_NOTE, TWIN_TITLE, formatted_cells, seed_cells, twin_cells)
from ampli.report.plots import REINIT_LABELS
from ampli.report.samples import Sample
from ampli.report.table import CONFIG_COLUMNS, swept_settings
from ampli.judges.verdict import PRIMARY

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 82em; padding: 0 1.5em; color: #222;
       line-height: 1.4; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
table { border-collapse: collapse; font-size: 0.88em; margin-bottom: 1.2em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
td.yes { background: #d8f0d8; } td.no { background: #f6dada; } td.pending { color: #777; }
td.pooled { font-weight: 600; }
dl.setup { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1.2em; }
dl.setup dt { font-weight: 600; } dl.setup dd { margin: 0; }
figure { margin: 0 0 2em 0; } figcaption { color: #444; font-size: 0.92em; margin-bottom: 0.4em; }
img { max-width: 100%; border: 1px solid #eee; }
.wide { overflow-x: auto; max-height: 40em; }
.sample { white-space: pre-wrap; font-size: 0.9em; text-align: left; max-width: 40em; }
details { margin-bottom: 1em; } summary { cursor: pointer; font-weight: 600; }
.note { color: #555; font-size: 0.92em; }
"""

MISSING = "–"
LONG_LIST = 10  # rows of a list of runs shown open; a longer one is collapsed under its summary


def number(value: Any, digits: int = 1, signed: bool = False) -> str:
    """A score for people: fixed digits, a sign on changes, a dash (never None or nan) where there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return str(value)


def with_interval(mean: Any, half_width: Any, digits: int = 1) -> str:
    """`45.2 ± 3.1` (95% half-width), or the mean alone with a single seed."""
    text = number(mean, digits)
    band = number(half_width, digits)
    return text if band == MISSING or text == MISSING else f"{text} ± {band}"


def table_html(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int | Collection[int] = 1,
               classes: Sequence[Sequence[str]] | None = None) -> str:
    """A table of already formatted cells: text left-aligned (the first `text_columns` columns, or those indices),
    numbers right-aligned; `classes` adds a CSS class per cell (yes / no / pending colours)."""
    left = set(range(text_columns)) if isinstance(text_columns, int) else set(text_columns)

    def cell(tag: str, i: int, text: str, extra: str = "") -> str:
        names = " ".join(n for n in ("text" if i in left else "", extra) if n)
        attribute = f' class="{names}"' if names else ""
        return f"<{tag}{attribute}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", i, text) for i, text in enumerate(header))
    body = "\n".join(
        "<tr>" + "".join(cell("td", i, text, (classes[r][i] if classes else "")) for i, text in enumerate(row))
        + "</tr>" for r, row in enumerate(rows))
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{html.escape(heading)}</h2>\n{body}\n</section>'


def setup_html(setup: Sequence[tuple[str, str]], source: str) -> str:
    """What was run: model, judge, data, seeds, ampli version, as a definition list."""
    rows = [("source", source), *setup]
    items = "\n".join(f"<dt>{html.escape(what)}</dt><dd>{html.escape(value)}</dd>" for what, value in rows)
    return section("setup", "What was run", f'<dl class="setup">\n{items}\n</dl>')


def _paper_table(name: str, frame: pd.DataFrame) -> str:
    shown = frame.drop(columns=[c for c in ("not_completed",) if c in frame and not frame[c].any()])
    header = [HEADERS.get(c, c) for c in shown.columns]
    rows = [[cell or MISSING for cell in row] for row in formatted_cells(shown)]
    left = [i for i, c in enumerate(shown.columns) if c in TEXT_COLUMNS or c not in COLUMNS]
    return f"<h3>{html.escape(name)}</h3>\n{table_html(header, rows, left)}"


def lexicon_html(verdicts: pd.DataFrame) -> str:
    """A warning where runs judged a real model with the offline lexicon (judge.allow_lexicon_on_real_model): their
    scores are word counts; empty otherwise."""
    lexicon = int(verdicts["lexicon_on_real_model"].fillna(False).astype(bool).sum()) \
        if "lexicon_on_real_model" in verdicts else 0
    if not lexicon:
        return ""
    return (f'<p class="no">{lexicon} of these runs judged a real model with the offline lexicon '
            "(judge.allow_lexicon_on_real_model=true): their trait and coherence are word counts, not an LLM "
            "judge's scores.</p>")


def _statistics_table(title: str, note: str, cells: tuple[list[str], list[list[str]]], key_column: str) -> str:
    """A table of the statistics over seeds, its rows over every trait in bold."""
    header, rows = cells
    key = header.index(key_column)
    shown = [[cell or MISSING for cell in row] for row in rows]
    classes = [["pooled" if row[key] == ALL_TRAITS else ""] * len(row) for row in rows]
    return (f"<h3>{html.escape(title[0].upper() + title[1:])}</h3>\n"
            f'<div class="wide">{table_html(header, shown, range(key + 1), classes)}</div>\n'
            f'<p class="note">{html.escape(note)}.</p>')


def paper_html(paper_tables: Mapping[str, pd.DataFrame], seeds: pd.DataFrame | None = None,
               twins: pd.DataFrame | None = None) -> str:
    """The paper's table, its numbers signed and rounded as the paper prints them: over every seed first, then (when
    there are several) one per seed, collapsed; then the statistics over seeds (ampli.report.paper_table.seed_table
    and twin_table), where there are any."""
    intro = (f"<p>Per model, regime and reinit: runs amplified ({html.escape(PRIMARY.describe())}; "
             f"{html.escape(PENDING_NOTE)}), and the mean over runs of each run's change of trait and coherence from "
             "cycle 0 to its last scored cycle.</p>")
    tables = [_paper_table(name, frame) for name, frame in paper_tables.items()]
    if len(tables) > 1:  # paper_tables puts the pooled table last
        tables = [tables[-1], "<details><summary>The same table for each seed</summary>\n"
                  + "\n".join(tables[:-1]) + "\n</details>"]
    if twins is not None and not twins.empty:
        tables.append(_statistics_table(TWIN_TITLE, TWIN_NOTE, twin_cells(twins), "measure"))
    if seeds is not None and not seeds.empty:
        tables.append(_statistics_table(SEED_TITLE, SEED_NOTE, seed_cells(seeds), "trait"))
    return section("paper-table", "The paper's table", intro + "\n".join(tables))


def undecided_reason(run: pd.Series) -> str:
    """Why a run has no verdict, in words."""
    if run["status"] == "running":
        return f"still running (or stopped without a word) after {run['n_cycles']} cycles"
    if run["status"] not in ("completed", None):
        return f"stopped early ({run['status']}) after {run['n_cycles']} cycles"
    return f"only {run['n_cycles']} cycles; the rule needs a scored cycle >= {PRIMARY.first_decisive_cycle()}"


def attention_html(failed: Sequence[FailedJob], verdicts: pd.DataFrame) -> str:
    """Failed jobs (with their error line) and runs without a verdict (with why), or a line saying there are none."""
    undecided = verdicts[verdicts["amplified"].isna()]  # pending under the rule (ampli.judges.verdict)
    parts = []
    if failed:
        rows = [[job.job_dir.name, job.overrides or MISSING, job.error] for job in failed]
        parts.append(f"<h3>{len(failed)} failed job{'s' * (len(failed) != 1)} (no run to report on)</h3>\n"
                     + table_html(["job", "overrides", "error"], rows, text_columns=3)
                     + f'<p class="note">Job directories: {html.escape(str(failed[0].job_dir.parent))}</p>')
    if not undecided.empty:
        rows = [[run["run_name"], run["status"] or MISSING, undecided_reason(run)] for _, run in undecided.iterrows()]
        table = table_html(["run", "status", "why"], rows, text_columns=3)
        heading = f"{len(rows)} run{'s' * (len(rows) != 1)} without a verdict"
        reasons = sorted({row[2].split(" after ")[0].split(";")[0] for row in rows})
        if len(rows) > LONG_LIST:  # a sweep stopped early: the count and reasons up front, the runs one click away
            parts.append(f"<h3>{heading}</h3>\n<details><summary>{html.escape('; '.join(reasons))}</summary>\n"
                         f"{table}\n</details>")
        else:
            parts.append(f"<h3>{heading}</h3>\n{table}")
    body = "\n".join(parts) or "<p>Every job produced a run, and every run has a verdict.</p>"
    return section("attention", "Failed and undecided runs", body)


def configuration_html(configurations: pd.DataFrame) -> str:
    """Per configuration "amplified in k/N seeds" (green when any seed amplified) and its trait path with interval."""
    swept = swept_settings(configurations)
    header = ["trait", "regime", "runs", "model", *swept, "amplified in", "base trait", "trait cycle 0",
              "trait last (95% CI)", "Δ trait", "coherence last", "EM rate last", "status"]
    rows, classes = [], []
    for _, config in configurations.iterrows():
        change = config["delta_trait"] if pd.notna(config["delta_trait"]) else None
        rows.append([config["trait"], config["regime"], REINIT_LABELS[bool(config["reinit"])], config["model"],
                     *(str(config[s]) for s in swept), config["amplified_in"], number(config["base_trait"]),
                     number(config["first_trait"]), with_interval(config["last_trait"], config["last_trait_ci95"]),
                     number(change, signed=True), number(config["last_coherence"]),
                     number(config["last_em_rate"], 2), config["statuses"]])
        verdict = "yes" if config["amplified_seeds"] > 0 else "pending" if config["pending_seeds"] else "no"
        classes.append(["" for _ in header[:4 + len(swept)]] + [verdict] + ["" for _ in header[5 + len(swept):]])
    note = ("<p>Runs that differ only by their seed form a configuration; the last trait is the mean over seeds with "
            "the half-width of its 95% interval (Student t), Δ trait the mean over seeds of each seed's change from cycle 0 "
            "to its last scored cycle; k/N counts the seeds with a verdict, pending ones apart.</p>")
    left = [*range(5 + len(swept)), len(header) - 1]
    return section("configurations", "Amplification per configuration",
                   note + f'<div class="wide">{table_html(header, rows, left, classes)}</div>')


def figures_html(images: Mapping[str, bytes]) -> str:
    """Each figure (caption -> PNG bytes), inlined; the PNG and PDF files lie beside the page."""
    figures = "\n".join(
        f'<figure><figcaption>{html.escape(caption)}</figcaption>\n<img alt="{html.escape(caption)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"></figure>'
        for caption, png in images.items())
    note = '<p class="note">Each figure is also in this folder as PNG (150 dpi) and PDF.</p>'
    return section("figures", "Figures", note + figures)


def samples_html(samples: Mapping[str, Sequence[Sample]], total_runs: int) -> str:
    """Per run, its held-out answers with the highest and lowest trait score of each cycle (collapsed per run)."""
    if not samples:
        return section("samples", "Sample answers", "<p>No eval.jsonl with scored answers was found.</p>")
    parts = []
    for run_name, picks in samples.items():
        rows = [[str(s.cycle), s.which, number(s.trait), number(s.coherence), s.prompt, s.response] for s in picks]
        table = table_html(["cycle", "trait score of the cycle", "trait", "coherence", "prompt", "answer"], rows,
                           text_columns=(0, 1, 4, 5), classes=[["", "", "", "", "sample", "sample"]] * len(rows))
        opened = " open" if not parts else ""  # the first run's answers in view, the others one click away
        parts.append(f"<details{opened}><summary>{html.escape(run_name)}</summary>\n{table}\n</details>")
    more = f" (the first {len(samples)} of {total_runs} runs)" if len(samples) < total_runs else ""
    note = (f"<p>Per cycle, the held-out answer the judge scored highest and lowest for the trait{more}; every answer "
            "is in the run's cycle_NNN/eval.jsonl.</p>")
    return section("samples", "Sample answers", note + "\n".join(parts))


def full_tables_html(verdicts: pd.DataFrame, table: pd.DataFrame) -> str:
    """The detector's full verdict per run and every run x cycle, collapsed: the CSV files hold the same."""
    def frame(data: pd.DataFrame) -> str:
        shown = data.drop(columns=[c for c in ("run_dir",) if c in data])
        rows = [[number(v, 2) for v in record] for record in shown.itertuples(index=False)]
        return f'<div class="wide">{table_html(list(shown.columns), rows, text_columns=len(CONFIG_COLUMNS))}</div>'

    return section("full-tables", "Full tables", (
        "<details><summary>Verdict per run (verdicts.csv)</summary>\n" + frame(verdicts) + "</details>\n"
        "<details><summary>Every run × cycle, cycle -1 the unseeded base model (runs.csv)</summary>\n" + frame(table)
        + "</details>"))


def render_html(title: str, sections: Sequence[str], summary: str = "") -> str:
    """The page: a title, a one-line summary, then the sections in order."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(summary)}</p>
{chr(10).join(sections)}
</body>
</html>
"""

"""One self-contained HTML page (images inlined as data URIs) that can be mailed or attached as-is."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping

import pandas as pd

from ampli.detector import PRIMARY_RULE
from ampli.report.paper_table import HEADERS

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.yes { background: #d8f0d8; } td.no { background: #f6dada; } td.pending { color: #888; }
img { max-width: 100%; border: 1px solid #eee; margin-bottom: 1.5em; }
.wide { overflow-x: auto; max-height: 40em; }
"""


def _verdict_word(value: object) -> str:
    """None (or NaN) means the run has no verdict yet."""
    if value is None or (isinstance(value, float) and value != value):
        return "pending"
    return "yes" if value else "no"


def _frame_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, na_rep="", float_format=lambda x: f"{x:.2f}", border=0)


def verdict_html(verdicts: pd.DataFrame) -> str:
    """Verdict table with the amplified column as yes / no / pending, coloured."""
    shown = verdicts.drop(columns=["run_dir"])
    shown["amplified"] = [_verdict_word(v) for v in verdicts["amplified"]]
    table = _frame_html(shown)
    for word in ("yes", "no", "pending"):
        table = table.replace(f"<td>{word}</td>", f'<td class="{word}">{word}</td>')
    return table


def configuration_html(configurations: pd.DataFrame) -> str:
    """Per configuration "amplified in k/N seeds", green when any seed amplified."""
    shown = configurations.drop(columns=["amplified_seeds", "pending_seeds"])
    table = _frame_html(shown)
    for text in shown["amplified_in"]:
        word = "yes" if not text.startswith("0/") else "no"
        table = table.replace(f"<td>{html.escape(text)}</td>", f'<td class="{word}">{html.escape(text)}</td>', 1)
    return table


def render_html(title: str, source: str, verdicts: pd.DataFrame, configurations: pd.DataFrame,
                images: Mapping[str, bytes], table: pd.DataFrame,
                paper_tables: Mapping[str, pd.DataFrame] | None = None, replications: str = "") -> str:
    """The report page: the paper's table (title -> table), the replications section (HTML, where replications
    exist), verdicts per configuration and per run, then each image (caption -> PNG bytes), then the full run x
    cycle table."""
    paper = "\n".join(f"<h3>{html.escape(name)}</h3>\n{_frame_html(frame.rename(columns=HEADERS))}"
                      for name, frame in (paper_tables or {}).items())
    n_runs = len(verdicts)
    amplified = int((verdicts["amplified"] == True).sum())  # noqa: E712 (None means pending, not False)
    figures = "\n".join(
        f'<h3>{html.escape(caption)}</h3>\n<img alt="{html.escape(caption)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        for caption, png in images.items()
    )
    lexicon = int(verdicts["lexicon_on_real_model"].sum()) if "lexicon_on_real_model" in verdicts else 0
    warning = (f'<p class="no">{lexicon} of these runs judged a real model with the offline lexicon '
               "(judge.allow_lexicon_on_real_model=true): their trait and coherence are word counts, not an LLM "
               "judge's scores.</p>") if lexicon else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Source: <code>{html.escape(source)}</code> &middot; {n_runs} runs &middot; {amplified} amplified</p>
{warning}
<h2>The paper's table</h2>
<p>Per regime and reinit: runs amplified ({html.escape(PRIMARY_RULE)}), and the mean change of trait and coherence
from cycle 0 to the last cycle.</p>
{paper}
{replications}
<h2>Amplification per configuration</h2>
<p>Runs that differ only by their seed form a configuration; last_trait is the mean over seeds, last_trait_ci95 the
half-width of its 95% interval (Student t).</p>
<div class="wide">{configuration_html(configurations)}</div>
<h2>Amplification verdicts per run</h2>
<div class="wide">{verdict_html(verdicts)}</div>
<h2>Plots</h2>
{figures}
<h2>Every run &times; cycle</h2>
<p>cycle -1 is the unseeded base model.</p>
<div class="wide">{_frame_html(table)}</div>
</body>
</html>
"""

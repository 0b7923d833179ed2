"""report.html in a real browser: it loads without console errors, every figure decodes, and a screenshot is saved
(report/report.png beside the page) for a person to look at."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ampli.report import build_report
from browser import check_page, chromium_or_skip, screenshot
from fixtures_runs import write_failed_job, write_run, write_sweep


@pytest.fixture(scope="module")
def browser() -> str:
    return chromium_or_skip()


@pytest.mark.slow
def test_the_report_renders_in_chromium_with_every_figure_and_no_console_error(browser, tmp_path):
    write_sweep(tmp_path, traits=("bliss", "misalignment"), regimes=("sft", "dpo"), seeds=(0, 1))
    write_run(tmp_path, trait="lucky", seed=5, n_cycles=2, amplified=None)  # too short for a verdict
    write_failed_job(tmp_path / "runs" / "7", "trait=hopelesness", "data file /x.jsonl is missing (trait.seed_file)")
    files = build_report(tmp_path / "runs")

    check = check_page(browser, files.html)
    assert check.console == [] and check.broken == []
    assert check.images == len(files.plots) >= 6  # one per regime x reinit, the overviews, the trade-off

    shot = screenshot(browser, files.html, files.out_dir / "report.png")
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    if keep := os.environ.get("AMPLI_SCREENSHOT"):  # a copy where a person looks at it
        shutil.copy(shot, keep)


def test_the_check_catches_a_broken_image_and_a_script_error(browser, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img alt="plot" src="data:image/png;base64,AAAA">'
                    "<script>missing_function();</script></body></html>")
    check = check_page(browser, page)
    assert check.broken == ["plot"] and check.images == 1
    assert len(check.console) == 1 and "missing_function" in check.console[0]


@pytest.mark.parametrize("required, returncode, outcome", [(False, 0, "1 skipped"), (True, 1, "1 error")])
def test_the_browser_tests_skip_without_chromium_unless_they_are_required(tmp_path, required, returncode, outcome):
    """Where chromium can be neither found nor installed (here: nothing on PATH, not even bash for the installer),
    the browser tests skip; under AMPLI_BROWSER_TESTS=required (CI) they fail, naming why."""
    env = {k: v for k, v in os.environ.items() if k != "AMPLI_BROWSER_TESTS"} | {"PATH": str(tmp_path)}
    if required:
        env["AMPLI_BROWSER_TESTS"] = "required"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
                           "catches_a_broken_image"], cwd=Path(__file__).parents[1], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == returncode and outcome in done.stdout, done.stdout[-2000:]
    assert ("AMPLI_BROWSER_TESTS=required, but bash is needed" in done.stdout) is required

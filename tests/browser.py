"""A real headless Chromium for the report's page: render it, collect console messages and images that did not load,
and take a screenshot. The browser comes from Debian's `chromium` package (scripts/chromium.sh installs it as root).
Where it is missing and cannot be installed the browser tests skip, naming why; under AMPLI_BROWSER_TESTS=required
(CI: .ci/run) that is a failure instead, so a report that no longer renders cannot land green by skipping."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Appended to a copy of the page: after load, records on <body> how many images decoded and which did not. It
# writes to the DOM, not the console, so that every console message still means a fault of the page itself.
_PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.alt || img.src.slice(0, 40));
  document.body.setAttribute("data-images", String(images.length));
  document.body.setAttribute("data-broken", JSON.stringify(broken));
});
</script>"""
_CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\] (.*)")


class BrowserMissing(RuntimeError):
    """No chromium, and it cannot be installed here (not root, no apt-get, or no bash to run the installer)."""


@dataclass(frozen=True)
class PageCheck:
    images: int
    broken: list[str]
    console: list[str]


def chromium() -> str:
    """The browser's path, installed with apt-get first when missing and allowed (scripts/chromium.sh)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("bash") is None:
        raise BrowserMissing("bash is needed to run scripts/chromium.sh")
    done = subprocess.run([str(ROOT / "scripts" / "chromium.sh")], capture_output=True, text=True, timeout=900)
    if done.returncode == 3:
        raise BrowserMissing(done.stderr.strip())
    done.check_returncode()
    return done.stdout.strip().splitlines()[-1]


def chromium_or_skip() -> str:
    """The browser's path; else skip the calling test, or fail it where the browser tests are required."""
    try:
        return chromium()
    except BrowserMissing as err:
        if os.environ.get("AMPLI_BROWSER_TESTS") == "required":
            pytest.fail(f"AMPLI_BROWSER_TESTS=required, but {err}", pytrace=False)
        pytest.skip(str(err))


def _run(browser: str, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=10000"]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=180, check=True)


def check_page(browser: str, page: Path) -> PageCheck:
    """Load `page` (a copy with the probe appended) and read back the probe's result and the console."""
    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "\n</body>"), encoding="utf-8")
    try:
        done = _run(browser, "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    images = re.search(r'data-images="(\d+)"', done.stdout)
    broken = re.search(r'data-broken="([^"]*)"', done.stdout)
    if not images or not broken:
        raise AssertionError(f"the page never finished loading in chromium:\n{done.stdout[-2000:]}")
    return PageCheck(int(images.group(1)), re.findall(r"&quot;(.*?)&quot;", broken.group(1)),
                     [m.group(1) for line in done.stderr.splitlines() if (m := _CONSOLE.search(line))])


def screenshot(browser: str, page: Path, out: Path, width: int = 1400, height: int = 6000) -> Path:
    """A PNG of the page's first `height` pixels as a `width`-pixel-wide window shows it."""
    _run(browser, f"--window-size={width},{height}", f"--screenshot={out}", page.as_uri())
    return out

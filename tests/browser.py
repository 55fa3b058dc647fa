"""Headless Chromium for tests: a page's DOM after its scripts ran, its console, a screenshot."""

import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    """The browser's program; the test is skipped, with the fix, where none is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("no Chromium: apt-get install chromium (.ci/run does)")


def _run(page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )


def load(page: Path) -> tuple[str, list[str]]:
    """The page's DOM once loaded, and every console message it caused (script errors,
    failed resources, logs)."""
    result = _run(page, "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
    return result.stdout, console


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2000) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    result = _run(page, f"--window-size={width},{height}", f"--screenshot={out.resolve()}")
    assert result.returncode == 0 and out.is_file(), result.stderr[-2000:]
    return out


class _Rows(HTMLParser):
    """The body rows of the table with a given id (not those of tables nested in it)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.rows = table_id, 0, []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "table" and (self.depth or attrs.get("id") == self.table_id):
            self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self.rows.append([])
        elif self.depth == 1 and tag == "td":
            self.rows[-1].append(attrs.get("data-sort"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1


def table_rows(dom: str, table_id: str) -> list[list[str | None]]:
    """Each body row of table `table_id` as its cells' sort values (header rows have none
    of <td>, so they come out empty and are dropped)."""
    parser = _Rows(table_id)
    parser.feed(dom)
    return [row for row in parser.rows if row]

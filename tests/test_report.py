"""The report a sweep ends in: groups, the verdict on the console, the HTML page in a
browser, failed jobs, and a report that fails while writing."""

from pathlib import Path

import pytest

from tests import browser
from tests.support import QUICK, ROOT, run_cli, summary_rows
from textbench.cli.report import main as report_main
from textbench.reporting import sweep as sweep_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_models_two_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished sweep, model=cnn,lstm seed=1,2, shared by the report tests."""
    root = tmp_path_factory.mktemp("two_models")
    result = run_cli("-m", "model=cnn,lstm", "seed=1,2", "hydra.sweep.dir=sweep", *QUICK, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    (root / "console.txt").write_text(result.stdout + result.stderr)
    return root / "sweep"


def test_sweep_report_groups_seeds(two_models_two_seeds: Path, tmp_path: Path) -> None:
    sweep = two_models_two_seeds
    rows = summary_rows(sweep)
    assert [r["status"] for r in rows] == ["completed"] * 4
    markdown = (sweep / "summary.md").read_text()
    assert "| `model=cnn` | 2 |" in markdown and "| `model=lstm` | 2 |" in markdown
    assert (sweep / "groups.png").is_file() and (sweep / "val_curves.png").is_file()
    # The sweep ends on the console with the verdict and where the report is.
    verdict = markdown.splitlines()[2].removeprefix("**Verdict**: ").replace("`", "")
    console = (sweep.parent / "console.txt").read_text().splitlines()
    assert verdict.startswith("model=")
    assert any(line.endswith(f"Verdict: {verdict}") for line in console)
    assert any(f"Sweep report: {sweep / 'summary.html'}" in line for line in console)
    # The command gives the same report on demand, and also on several directories.
    report_main([str(sweep), "--out", str(tmp_path / "again")])
    again = summary_rows(tmp_path / "again")
    assert [r.pop("job") for r in again] == [str(sweep / str(i)) for i in range(4)]
    assert again == [{k: v for k, v in r.items() if k != "job"} for r in rows]


def test_a_report_that_fails_while_writing_keeps_the_last_one(
    two_models_two_seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rewriting a sweep's summary over an earlier one: a write that fails half-way (here a
    page text the encoder rejects after its first characters) leaves the earlier page whole."""
    out = tmp_path / "report"
    report_main([str(two_models_two_seeds), "--out", str(out)])
    before = (out / "summary.html").read_bytes()
    monkeypatch.setattr(sweep_report, "render_html", lambda *args: "<!DOCTYPE html>\ud800")
    with pytest.raises(UnicodeEncodeError):
        sweep_report.write_report([two_models_two_seeds], out)
    assert (out / "summary.html").read_bytes() == before
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_html_report_loads_in_a_browser_and_sorts(two_models_two_seeds: Path) -> None:
    """summary.html in headless Chromium: no console message, one row per job and group,
    self-contained (no http), the jobs table sorted by a click; a screenshot is kept."""
    page = two_models_two_seeds / "summary.html"
    text = page.read_text()
    assert "http://" not in text and "https://" not in text
    assert "Verdict</strong>: <code>model=" in text
    dom, console = browser.load(page)
    assert console == []
    assert len(browser.table_rows(dom, "jobs")) == 4
    assert len(browser.table_rows(dom, "groups")) == 2
    assert dom.count('src="data:image/png;base64,') == 2  # both plots, embedded
    assert dom.count("<summary>confusion matrix</summary>") == 4
    # Click the val/acc header once (ascending), then again (descending).
    column = 3  # job, status, overrides, val/acc
    for clicks, descending in ((1, False), (2, True)):
        click = f"document.querySelectorAll('#jobs thead th')[{column}].click();"
        clicked = page.with_name(f"clicked{clicks}.html")
        clicked.write_text(text.replace("</body>", f"<script>{click * clicks}</script></body>"))
        dom, console = browser.load(clicked)
        values = [float(row[column]) for row in browser.table_rows(dom, "jobs")]
        assert console == [] and len(set(values)) > 1
        assert values == sorted(values, reverse=descending)
    shot = browser.screenshot(page, ROOT / "outputs" / "screenshots" / "summary.html.png")
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_the_browser_check_sees_a_script_error(tmp_path: Path) -> None:
    """The console check above can fail: a page whose script throws is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>notDefined();</script></body></html>")
    _, console = browser.load(page)
    assert len(console) == 1 and "Uncaught ReferenceError: notDefined" in console[0]


def test_report_marks_failed_jobs(tmp_path: Path) -> None:
    result = run_cli(
        "-m",
        "model=cnn",
        "optimizer.lr=0.001,-1,0.002",
        "hydra.sweep.dir=sweep",
        *QUICK,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    report_main([str(tmp_path / "sweep")])
    statuses = [r["status"] for r in summary_rows(tmp_path / "sweep")]
    assert statuses == ["completed", "failed", "completed"]
    assert "optimizer.lr=-1 is invalid" in (tmp_path / "sweep" / "summary.md").read_text()

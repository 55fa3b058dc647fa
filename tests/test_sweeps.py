"""Sweeps that answer questions: reports, failures, reproduce, resume, Optuna, launchers."""

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import browser
from tests.conftest import RESUMABLE_RUN, ROOT, make_cfg, run_cli
from textbench.cli.report import main as report_main
from textbench.reporting import sweep as sweep_report
from textbench.training.machine import cpu_model, short_cpu_name

pytestmark = pytest.mark.slow
QUICK = ["debug=limit", "data.n_train=400", "data.n_test=200", "callbacks.model_summary=null"]
LSTM = ["model=lstm", "model.encoder.hidden_size=16", "model.encoder.embedding_dim=16"]
ENV = {"PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _summary(directory: Path) -> list[dict[str, str]]:
    with (directory / "summary.csv").open() as f:
        return list(csv.DictReader(f))


def _reproduce(cwd: Path, run: str, out: str) -> dict:
    again = subprocess.run(
        [sys.executable, "-m", "textbench.cli.reproduce", run, "--out", out],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    return json.loads((cwd / out / "reproduce.json").read_text())


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
    rows = _summary(sweep)
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
    again = _summary(tmp_path / "again")
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
    statuses = [r["status"] for r in _summary(tmp_path / "sweep")]
    assert statuses == ["completed", "failed", "completed"]
    assert "optimizer.lr=-1 is invalid" in (tmp_path / "sweep" / "summary.md").read_text()


def test_reproduce_gives_identical_metrics(tmp_path: Path) -> None:
    result = run_cli(
        *LSTM,
        "trainer.max_epochs=2",
        "data.n_train=600",
        "data.n_test=200",
        "hydra.run.dir=original",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = _reproduce(tmp_path, "original", "again")
    assert report["all_match"] and report["tolerance"] == 0
    assert report["checks"]["same config"] and report["checks"]["same data"]
    assert len(report["metrics"]) >= 8


def test_a_run_killed_mid_epoch_resumes_to_the_same_metrics(tmp_path: Path) -> None:
    run = [*RESUMABLE_RUN, "seed=3"]
    straight = run_cli(*run, "hydra.run.dir=straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    # 720 training texts in batches of 64: 12 steps an epoch; step 18 is mid-epoch 2.
    killed = run_cli(
        *run,
        "hydra.run.dir=killed",
        "+callbacks.kill._target_=tests.helpers.KillAtStep",
        "+callbacks.kill.step=18",
        cwd=tmp_path,
        env=ENV,
    )
    assert killed.returncode < 0  # died of SIGKILL
    assert json.loads((tmp_path / "killed" / "manifest.json").read_text())["status"] == "running"
    # Its checkpoint names the test's callback, which the resuming command no longer does.
    resumed = run_cli(
        *run, "hydra.run.dir=killed", "resume=true", "trust=[tests.helpers]", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    b = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert b["best_val"] == a["best_val"]
    assert b["test"] == a["test"]
    # The history before the kill is kept: every epoch's time, every epoch's curve rows.
    assert len(b["train_epoch_time_s"]) == len(a["train_epoch_time_s"]) == 3

    def val_rows(run: str) -> list[tuple[str, str]]:
        with (tmp_path / run / "csv" / "metrics.csv").open() as f:
            return [(r["epoch"], r["val/acc"]) for r in csv.DictReader(f) if r.get("val/acc")]

    assert val_rows("killed") == val_rows("straight")
    assert [e for e, _ in val_rows("killed")] == ["0", "1", "2"]


def test_multirun_resume_skips_completed_jobs_and_resumes_the_rest(tmp_path: Path) -> None:
    # Job 0 completes; job 1 is killed mid-epoch 3 (step 30), which ends the whole sweep.
    sweep = [
        "-m",
        *RESUMABLE_RUN,
        "hydra.sweep.dir=sweep",
        "+callbacks.kill._target_=tests.helpers.KillAtStep",
        "+callbacks.kill.step=1000,30",
        f"+callbacks.kill.marker={tmp_path / 'killed-once'}",
    ]
    first = run_cli(*sweep, cwd=tmp_path, env=ENV)
    assert first.returncode != 0
    job0, job1 = tmp_path / "sweep" / "0", tmp_path / "sweep" / "1"
    assert (job0 / "metrics.json").is_file() and not (job1 / "metrics.json").exists()
    assert (job1 / "checkpoints" / "last.ckpt").is_file()
    done = (job0 / "metrics.json").stat().st_mtime
    second = run_cli(*sweep, "resume=true", cwd=tmp_path, env=ENV)
    assert second.returncode == 0, second.stderr[-3000:]
    assert (job0 / "metrics.json").stat().st_mtime == done  # skipped, not run again
    log = (job1 / "train.log").read_text()
    assert f"Resuming {job1} from {job1 / 'checkpoints' / 'last.ckpt'}" in log
    assert [r["status"] for r in _summary(tmp_path / "sweep")] == ["completed", "completed"]


def test_optuna_search_interrupted_and_resumed_is_one_study(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    search = ["-m", "hparams_search=optuna", "hydra.sweep.dir=search", *QUICK]
    first = run_cli(*search, "hydra.sweeper.n_trials=2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_cli(*search, "hydra.sweeper.n_trials=3", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    study = optuna.load_study(
        study_name="lstm", storage=f"sqlite:///{tmp_path / 'search' / 'optuna.db'}"
    )
    assert len(study.trials) == 3
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    # The continued study's sampler does not restart its seed: no trial is drawn again.
    params = [t.params for t in study.trials]
    assert params[2] not in params[:2]
    assert sorted(p.name for p in (tmp_path / "search").iterdir() if p.name.isdigit()) == [
        "0",
        "1",
        "2",
    ]


def test_joblib_launcher_shares_the_cores(tmp_path: Path) -> None:
    result = run_cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "model=cnn",
        "seed=1,2",
        "hydra.sweep.dir=sweep",
        *QUICK,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("0", "1"):
        manifest = json.loads((tmp_path / "sweep" / job / "manifest.json").read_text())
        assert manifest["status"] == "completed"
        assert manifest["hardware"]["torch_threads"] == max(1, (os.cpu_count() or 1) // 2)
    # A joblib job reproduced on its own: same config (threads and sweep paths aside), and
    # the same metrics, as it runs with the job's thread count.
    again = _reproduce(tmp_path, "sweep/0", "again")
    assert again["checks"]["same config"] and again["all_match"]


def test_slurm_launcher_config_composes(tmp_path: Path) -> None:
    make_cfg(tmp_path, ["hydra/launcher=slurm", "hydra.launcher.partition=gpu"])
    from hydra.core.hydra_config import HydraConfig

    launcher = HydraConfig.get().launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.timeout_min) == ("gpu", 1, 240)


def test_optional_loggers_run_offline_and_group_a_sweep(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    result = run_cli(
        "-m",
        "logger=mlflow,wandb,tensorboard",
        "tags=[tagcheck,two]",
        "model=cnn",
        "seed=1",
        "hydra.sweep.dir=sweep",
        *QUICK,
        cwd=tmp_path,
        env={"WANDB_SILENT": "true", "WANDB_MODE": "offline"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["train"])
    assert len(runs) == 1 and runs["tags.sweep"][0] == "sweep"
    assert runs["tags.tags"][0] == "tagcheck,two"  # the run's tags reach MLflow and W&B
    assert runs["metrics.test/acc"][0] == pytest.approx(
        json.loads((tmp_path / "sweep" / "0" / "metrics.json").read_text())["test"]["test/acc"]
    )
    (wandb_run,) = (tmp_path / "sweep" / "1" / "wandb").glob("offline-run-*/run-*.wandb")
    assert b"tagcheck" in wandb_run.read_bytes()
    assert list((tmp_path / "sweep" / "2" / "tensorboard").glob("events.out.tfevents.*"))


def test_results_table_joins_seeds_run_in_separate_sweeps(tmp_path: Path, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("results", ROOT / "experiments" / "results.py")
    results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(results)
    monkeypatch.setattr(results, "STORE", tmp_path / "store")
    monkeypatch.setattr(results, "HERE", tmp_path)
    for seeds, sweep, finish in (("1", "a", []), ("2,3", "b", ["resume=true"])):
        overrides = ["experiment=mr_cnn", "data=wordorder", "cv.folds=null", f"seed={seeds}"]
        result = run_cli(
            "-m", *overrides, *finish, f"hydra.sweep.dir={sweep}", *QUICK, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr[-3000:]
    add = ["results.py", "add", str(tmp_path / "a"), str(tmp_path / "b")]
    # run outside a git repository: no commit names the code, so the rows are refused
    monkeypatch.setattr("sys.argv", add)
    with pytest.raises(SystemExit, match="uncommitted changes \\(or no git record\\)"):
        results.main()
    assert not (tmp_path / "store").exists()
    monkeypatch.setattr("sys.argv", [*add, "--allow-dirty"])
    results.main()
    record = json.loads((tmp_path / "store" / "mr_cnn.json").read_text())
    metrics = [
        json.loads((tmp_path / s / j / "metrics.json").read_text())
        for s, j in (("a", "0"), ("b", "0"), ("b", "1"))
    ]
    accs = [m["test"]["test/acc"] for m in metrics]
    assert record["seeds"] == 3 and record["test_acc"] == accs and record["protocol"] == ["seeds"]
    assert record["val_acc_mean"] == pytest.approx(
        sum(m["best_val"]["val/acc"] for m in metrics) / 3
    )
    assert record["command"].count("textbench-train -m experiment=mr_cnn") == 2
    assert "resume" not in record["command"]  # how a sweep was finished is not its command
    row = next(r for r in (tmp_path / "RESULTS.md").read_text().splitlines() if "mr_cnn" in r)
    assert f"{100 * sum(accs) / 3:.2f} ±" in row and "| 3 seeds |" in row
    if " " in cpu_model():  # a model name, not only the architecture: times depend on it
        assert f"CPU cores ({short_cpu_name(cpu_model())})" in row

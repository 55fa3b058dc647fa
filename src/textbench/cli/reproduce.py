"""`textbench-reproduce`: re-run a finished run from its saved overrides and compare its
metrics with the original's, key by key."""

import argparse
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from textbench.config import stamped_name
from textbench.errors import ConfigError
from textbench.files import write_json
from textbench.reporting.runs import read_record
from textbench.terminal import printable
from textbench.trust import is_trusted, refusal


def compare(
    original: dict[str, Any], again: dict[str, Any], tolerance: float
) -> list[dict[str, Any]]:
    """One row per metric of the best validation epoch and of the test, on either side; a
    metric that one side lacks is a row that does not match, with `None` on that side."""
    rows = []
    for section in ("best_val", "test"):
        before, after = original.get(section, {}), again.get(section, {})
        for key in [*before, *(k for k in after if k not in before)]:
            old, new = before.get(key), after.get(key)
            diff = math.inf if old is None or new is None else abs(new - old)
            rows.append(
                {
                    "metric": key if section == "test" else f"best {key}",
                    "original": old,
                    "reproduced": new,
                    "difference": diff,
                    "match": diff <= tolerance,
                }
            )
    return rows


def tolerance_for(manifest: dict[str, Any]) -> tuple[float, str]:
    """Exact for a run that trained on the CPU (deterministic), 1e-3 on an accelerator,
    where kernels may not be; decided by what the run used, not by this machine."""
    accelerator = manifest.get("hardware", {}).get("accelerator")
    if accelerator == "cpu":
        return 0.0, "the run trained on the CPU"
    if accelerator is None:
        return 1e-3, "the run's manifest does not say which accelerator it used"
    return 1e-3, f"the run trained on {accelerator}"


def format_row(row: dict[str, Any]) -> str:
    def value(v: float | None) -> str:
        return "missing" if v is None else f"{v:.6f}"

    if row["match"]:
        verdict = "match"
    elif row["original"] is None or row["reproduced"] is None:
        verdict = "MISSING on one side"
    else:
        verdict = f"DIFFERS by {row['difference']:.2e}"
    return f"{value(row['original'])}  {value(row['reproduced'])}  {verdict}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="textbench-reproduce",
        description="Re-run a finished run from its saved config overrides into a new "
        "directory and report, key by key, whether its metrics match the original: exactly "
        "for a CPU run (deterministic), within --tolerance for a GPU run. The overrides are "
        "checked before anything runs: they may name only textbench's classes (or those "
        "of modules given by --trust), and never Hydra's settings or where a run writes.",
    )
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--tolerance", type=float, help="default: 0 for CPU runs, 1e-3 else")
    parser.add_argument("--out", type=Path, help="default: outputs/reproduce/<time>_<id>")
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="MODULE",
        help="a module of your own whose classes the run used (as its trust=[...]); repeatable",
    )
    args = parser.parse_args(argv)
    original = read_record(args.run_dir, "metrics.json")
    if original.get("status") != "completed":
        parser.exit(
            2,
            f"error: {printable(args.run_dir)} is not a completed run (it needs metrics.json "
            "and .hydra/overrides.yaml).\n",
        )
    manifest = read_record(args.run_dir, "manifest.json")
    tolerance, why = tolerance_for(manifest)
    if args.tolerance is not None:
        tolerance, why = args.tolerance, "given by --tolerance"
    out = args.out or Path("outputs/reproduce") / stamped_name()
    # Hydra imports every `hydra_plugins` module on the path when it composes: never one
    # lying in the current directory (`python -m` puts it first)
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    try:
        overrides = checked_overrides(args.run_dir, manifest, args.trust)
    except ConfigError as error:
        parser.exit(2, f"error: {printable(error)}\n")
    # -I: no PYTHONPATH, no user site, not the current directory (./hydra_plugins)
    command = [
        sys.executable,
        "-I",
        "-m",
        "textbench.cli.train",
        *overrides,
        f"hydra.run.dir={out}",
    ]
    print(f"Reproducing {printable(args.run_dir)} in {printable(out)}", file=sys.stderr)
    if subprocess.run(command, env=os.environ.copy()).returncode != 0:
        parser.exit(1, f"error: the reproduction failed; see {printable(out)}.\n")
    again = read_record(out, "metrics.json")
    rows = compare(original, again, tolerance)
    new_manifest = read_record(out, "manifest.json")
    checks = {
        "same config": manifest.get("config_sha256") == new_manifest.get("config_sha256"),
        "same data": _section(original, "data").get("fingerprint")
        == _section(again, "data").get("fingerprint"),
        "same code": _section(manifest, "code").get("commit")
        == _section(new_manifest, "code").get("commit"),
    }
    report = {
        "original": str(args.run_dir),
        "reproduction": str(out),
        "tolerance": tolerance,
        "tolerance_reason": why,
        "all_match": all(r["match"] for r in rows),
        "checks": checks,
        "metrics": rows,
    }
    write_json(out / "reproduce.json", report)
    width = max(len(printable(r["metric"])) for r in rows)
    for r in rows:
        print(f"{printable(r['metric']):<{width}}  {format_row(r)}")
    print(", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in checks.items()))
    verdict = "all metrics match" if report["all_match"] else "metrics differ"
    print(f"{verdict} (tolerance {tolerance:g}: {why}); report: {out / 'reproduce.json'}")
    sys.exit(0 if report["all_match"] else 1)


# keys an override may not set: Hydra's own settings, and where a run writes or caches
_WRITES = re.compile(
    r"^(hydra[./]|paths\.|logger\b)|(^|\.)(dirpath|save_dir|default_root_dir|cache_dir|"
    r"tracking_uri|log_dir|output_dir|filename)$"
)
# a resolver call in a value (`${oc.decode:...}` could build a node at resolution time);
# references to other keys (`${paths.data_dir}`) and `${oc.env:...}` are plain values
_RESOLVER = re.compile(r"\$\\?\{(?!oc\.env:)[^}]*:")


def checked_overrides(run_dir: Path, manifest: dict[str, Any], trust: list[str]) -> list[str]:
    """The run's saved overrides, refused unless they are a list of plain `key=value`
    settings that compose a config naming only classes we trust (the whole composed
    config, Hydra's node included, checked in this process before anything runs)."""
    from textbench.trust import walk

    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if overrides_file.is_symlink() or not overrides_file.is_file():
        raise ConfigError(f"{run_dir} has no .hydra/overrides.yaml (a plain file) to re-run.")
    saved = yaml.safe_load(overrides_file.read_text())
    if not isinstance(saved, list) or not all(isinstance(o, str) for o in saved):
        raise ConfigError(f"{overrides_file} is not a list of overrides; it was altered.")
    kept = []
    for override in saved:
        key, _, value = override.partition("=")
        key = key.lstrip("+~")
        writes = _WRITES.search(key) and value != "null"  # data.cache_dir=null writes nothing
        if override.startswith("-") or "=" not in override or writes:
            if key.startswith("paths.") or key.startswith("logger"):
                continue  # where the run wrote: the rerun writes into its own directory
            raise ConfigError(
                f"Refused {overrides_file}: {override[:80]!r} is not a setting a run's "
                "overrides may hold (Hydra's settings, command-line flags and output places "
                "are not re-run); it was altered."
            )
        if _RESOLVER.search(override):
            raise ConfigError(
                f"Refused {overrides_file}: {override[:80]!r} calls a resolver; a saved "
                "override holds values, so it was altered."
            )
        # A rerun reports to no Optuna trial, and takes the run's thread count below.
        if not key.startswith(("optuna_trial", "num_threads", "resume")):
            kept.append(override)
    # The same number of torch threads (a launcher may have set it): CPU sums then add up
    # in the same order.
    threads = _section(manifest, "hardware").get("torch_threads")
    if isinstance(threads, int) and not isinstance(threads, bool) and threads > 0:
        kept.append(f"num_threads={threads}")
    cfg = _compose(kept)
    wanted = [str(m) for m in cfg.get("trust") or []]
    untrusted = sorted(set(wanted) - set(trust))
    if untrusted:
        raise ConfigError(
            f"{run_dir} trusted the modules {untrusted}; reproduce it only if you trust them "
            f"too: --trust {' --trust '.join(untrusted)}."
        )
    for path, key, value in walk(cfg):
        if key == "_target_" and not is_trusted(value, trust):
            raise refusal(str(overrides_file), value, path)
    return kept


def _compose(overrides: list[str]) -> dict[str, Any]:
    """The train config these overrides compose, Hydra's node included, resolved as the
    run would resolve it."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict, read_write
    from omegaconf.errors import OmegaConfBaseException

    from textbench.config import config_dir, register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose("train", overrides=overrides, return_hydra_config=True)
        with read_write(cfg.hydra):
            cfg.hydra.runtime.output_dir = "."  # where the rerun writes; not checked
        HydraConfig().set_config(cfg)
        # Hydra's node comes from textbench's files alone (hydra.* overrides are refused)
        # and holds a sweep's keys a single run lacks: checked as composed
        hydra_node = OmegaConf.to_container(cfg.hydra, resolve=False)
        with open_dict(cfg):
            del cfg["hydra"]
        return {**OmegaConf.to_container(cfg, resolve=True), "hydra": hydra_node}
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(
            f"The run's overrides do not compose: {str(error).splitlines()[0][:200]}"
        ) from None
    finally:
        GlobalHydra.instance().clear()


def _section(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


if __name__ == "__main__":
    main()

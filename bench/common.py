"""Helpers shared by the benchmark scripts: machine description, medians, RESULTS.md."""

import json
import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from textbench.training.machine import cpu_model

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
DEFAULT_DATA = BENCH.parent.parent / "shared" / "data"


def machine() -> str:
    import torch

    return (
        f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}"
    )


def median(values: list[float]) -> float:
    return statistics.median(values)


def run_json(args: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a Python snippet or script that prints one JSON object as its last line."""
    out = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_section(name: str, body: str, results: Path = RESULTS) -> None:
    """Replace (or add) the section `name` of a results file, keeping the others."""
    text = (
        results.read_text()
        if results.exists()
        else (
            "# Benchmark results\n\nMade by `python bench/run.py` (see bench/README.md); each "
            "section says how it was measured.\n"
        )
    )
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- {name} -->\n## {name}\n\nMeasured {stamp} on {machine()}.\n\n"
        f"{body.strip()}\n<!-- /{name} -->"
    )
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else (text.rstrip() + "\n\n" + section)
    )
    results.write_text(text.rstrip() + "\n")
    print(section)

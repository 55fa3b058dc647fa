"""Token ids in memory, batches of similar lengths, and padding per batch."""

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


class EncodedSplit(Dataset):
    """One split's token ids as one flat array plus offsets: compact, and stored as is
    (`cache.py`), so the flat array may be a memory map of a file."""

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

    @classmethod
    def concat(cls, first: "EncodedSplit", second: "EncodedSplit") -> "EncodedSplit":
        """Both splits' examples, `first`'s then `second`'s, in memory."""
        offsets = np.concatenate([first.offsets, second.offsets[1:] + first.offsets[-1]])
        return cls(
            np.concatenate([first.ids, second.ids]),
            offsets,
            np.concatenate([first.labels, second.labels]),
        )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        # a copy: the ids are usually a read-only memory map of the token cache
        ids = np.array(self.ids[self.offsets[i] : self.offsets[i + 1]])
        return torch.from_numpy(ids), int(self.labels[i])


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


class EpochSampler(Sampler[int]):
    """The order of one epoch's examples, and each DDP rank's share of it.

    Training (`shuffle=True`): a permutation seeded by `seed` and the epoch (so a run
    resumed at epoch k draws epoch k's order, and another seed another order). With
    `bucket`, the permutation is sorted by length within pools of `pool_batches` batches
    and the batches are shuffled, so each batch holds texts of similar length.
    Evaluation: longest first with `bucket`, else in order.

    Under DDP (`num_replicas` > 1), in training rank r takes whole batches r, r + n, ...
    (so bucketing survives), the list padded by repeating its first batches until every
    rank has as many steps; only a rank's last batch may be short, so the DataLoader,
    batching the yielded indices by `batch_size`, rebuilds exactly these batches. In
    evaluation rank r takes every n-th example of the order (still sorted by length), so
    each example is seen exactly once and every rank has some as long as there are n.
    """

    def __init__(
        self,
        lengths: np.ndarray,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        bucket: bool = True,
        pool_batches: int = 50,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.bucket = bucket
        self.pool = batch_size * pool_batches
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before each training epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        n, size = len(self.lengths), self.batch_size
        if not self.shuffle:
            return len(range(self.rank, n, self.num_replicas))
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
        return int(sum(self._mine(sizes)))

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(self._eval_order()[self.rank :: self.num_replicas].tolist())
        mine = self._mine(self.batches())
        return iter(np.concatenate(mine).tolist() if mine else [])

    def batches(self) -> list[np.ndarray]:
        """This epoch's batches over all ranks; only the last one may be short."""
        if not self.shuffle:
            return self._chunks(self._eval_order())
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        if not self.bucket:
            return self._chunks(order)
        batches = []
        for start in range(0, len(order), self.pool):
            pool = order[start : start + self.pool]
            batches.extend(self._chunks(pool[np.argsort(self.lengths[pool], kind="stable")]))
        short = [b for b in batches if len(b) < self.batch_size]
        full = [b for b in batches if len(b) == self.batch_size]
        rng.shuffle(full)
        return full + short

    def _eval_order(self) -> np.ndarray:
        n = len(self.lengths)
        return np.argsort(-self.lengths, kind="stable") if self.bucket else np.arange(n)

    def _chunks(self, order: np.ndarray) -> list[np.ndarray]:
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def _mine(self, batches: list) -> list:
        """This rank's training batches: every `num_replicas`-th, padded to equal steps by
        repeating leading batches (so the short one stays last)."""
        if self.num_replicas == 1 or not batches:
            return batches
        missing = -len(batches) % self.num_replicas
        batches = batches + [batches[i % len(batches)] for i in range(missing)]
        return batches[self.rank :: self.num_replicas]


def padding_fraction(lengths: np.ndarray, batches: list[np.ndarray]) -> float:
    """Share of padding positions in these batches (each padded to its longest text)."""
    padded = sum(int(lengths[b].max()) * len(b) for b in batches if len(b))
    real = sum(int(lengths[b].sum()) for b in batches)
    return round(1 - real / padded, 4) if padded else 0.0

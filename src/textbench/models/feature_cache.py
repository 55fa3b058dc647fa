"""Outputs of a frozen encoder, cached on disk, so that only the head trains.

With `model.freeze=true` the encoder is a fixed function of a text's token ids, so its
output for each text needs computing once, not once per epoch, run, seed or fold. Each
output is stored under a digest of the text's token ids, in a folder named by a digest of
the encoder's weights and the run's precision: a sweep over heads, optimizers, seeds or
the folds of one data set computes every text once (the first run pays for the encoder's
forward passes), and a changed model, tokenizer or text simply misses. Outputs are
computed the first time a text is seen, in whichever split (the test texts at test time),
in eval mode and without gradients. New outputs are written as one more shard per epoch,
to a temporary file renamed into place, so a crash never leaves half a shard.
"""

import hashlib
import logging
import uuid
from pathlib import Path

import numpy as np
import torch
from torch import nn

from textbench.files import atomic_write

log = logging.getLogger(__name__)
KEY_BYTES = 16


def encoder_digest(encoder: nn.Module, precision: str) -> str:
    """A digest of every weight and buffer of the encoder, and of the precision its
    outputs are computed in."""
    digest = hashlib.blake2b(precision.encode(), digest_size=KEY_BYTES)
    for name, tensor in encoder.state_dict().items():
        array = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{array.dtype}:{tuple(array.shape)}".encode())
        digest.update(array.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _text_key(ids: np.ndarray) -> bytes:
    return hashlib.blake2b(ids.astype(np.int64).tobytes(), digest_size=KEY_BYTES).digest()


class FeatureCache:
    """The frozen encoder's output per text: in memory for this run, on disk for the next."""

    def __init__(self, encoder: nn.Module, folder: Path | None) -> None:
        self.encoder = encoder
        self.folder = folder
        self.stored: dict[bytes, np.ndarray] = {}
        self.pending: dict[bytes, np.ndarray] = {}
        if folder is not None and folder.is_dir():
            for shard in sorted(folder.glob("*.npz")):
                self._read(shard)
            if self.stored:
                log.info("Frozen encoder outputs: %d texts cached in %s", len(self.stored), folder)

    def _read(self, shard: Path) -> None:
        try:
            with np.load(shard, allow_pickle=False) as data:
                keys, values = data["keys"], data["values"]
        except (OSError, ValueError, KeyError) as error:
            log.warning("Ignored the unreadable feature cache shard %s (%s).", shard, error)
            return
        if (
            keys.dtype != np.uint8
            or keys.ndim != 2
            or keys.shape[1] != KEY_BYTES
            or values.dtype != np.float32
            or values.ndim != 2
            or len(values) != len(keys)
            or (self.stored and values.shape[1] != len(next(iter(self.stored.values()))))
        ):
            log.warning("Ignored the feature cache shard %s: not a shard of this cache.", shard)
            return
        self.stored.update(zip((bytes(k) for k in keys), values, strict=True))

    def __call__(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The encoder's outputs for the batch: cached ones looked up, the others computed
        (for those rows only) and kept."""
        ids = input_ids.cpu().numpy()
        keys = [_text_key(row[:n]) for row, n in zip(ids, lengths.tolist(), strict=True)]
        missing = [i for i, key in enumerate(keys) if key not in self.stored]
        if missing:
            rows = torch.tensor(missing, device=input_ids.device)
            was_training = self.encoder.training
            self.encoder.eval()
            with torch.no_grad():
                outputs = self.encoder(input_ids[rows], lengths[rows]).float().cpu().numpy()
            self.encoder.train(was_training)
            for i, output in zip(missing, outputs, strict=True):
                self.stored[keys[i]] = self.pending[keys[i]] = output
        features = np.stack([self.stored[key] for key in keys])
        return torch.from_numpy(features).to(input_ids.device)

    def save(self) -> None:
        """Write the outputs computed since the last save as one new shard."""
        if not self.pending or self.folder is None:
            self.pending.clear()
            return
        keys = np.frombuffer(b"".join(self.pending), dtype=np.uint8).reshape(-1, KEY_BYTES)
        values = np.stack(list(self.pending.values()))
        try:
            with atomic_write(self.folder / f"{uuid.uuid4().hex}.npz", "wb") as f:
                np.savez(f, keys=keys, values=values)
            log.info("Frozen encoder outputs of %d texts cached in %s", len(keys), self.folder)
        except OSError as error:
            log.warning("Frozen encoder outputs not cached (%s); runs still work.", error)
        self.pending.clear()

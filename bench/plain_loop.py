"""The baseline: a hand-written PyTorch training loop, no framework.

It trains the same encoder and head (built from the same textbench config), on the same
padded batches in the same order, with the same optimizer and gradient clipping as
`textbench-train`, and prints the time of each epoch (and the CNN's FLOPs) as JSON.
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import open_dict

from textbench.config import config_dir, register_resolvers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("overrides", nargs="*", help="textbench config overrides")
    args = parser.parse_args()
    register_resolvers()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=args.overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = "."
    torch.manual_seed(cfg.seed)
    data = instantiate(cfg.data, tokenizer=instantiate(cfg.tokenizer))
    data.setup()
    classifier = instantiate(
        cfg.model, vocab_size=data.vocab_size, label_names=data.label_names, pad_id=data.pad_id
    )
    encoder, head = classifier.encoder, classifier.head
    parameters = [*encoder.parameters(), *head.parameters()]
    optimizer = instantiate(cfg.optimizer)(params=parameters)
    loader = data.train_dataloader()
    encoder.train()
    head.train()
    epoch_times, flops = [], 0.0
    for epoch in range(args.epochs):
        loader.sampler.set_epoch(epoch)
        start = time.perf_counter()
        for step, batch in enumerate(loader):
            if step == args.steps:
                break
            logits = head(encoder(batch["input_ids"], batch["lengths"]))
            loss = F.cross_entropy(logits, batch["labels"])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, cfg.trainer.gradient_clip_val)
            optimizer.step()
            if epoch == 0 and hasattr(encoder, "kernel_sizes"):
                flops += cnn_training_flops(encoder, *batch["input_ids"].shape)
        epoch_times.append(time.perf_counter() - start)
    print(json.dumps({"epoch_times": epoch_times, "flops_per_epoch": flops}))


def cnn_training_flops(encoder: torch.nn.Module, batch: int, length: int) -> float:
    """Multiply-adds x 2 of the convolutions, x 3 for forward + both backward products."""
    padded = length + max(encoder.kernel_sizes) - 1
    forward = sum(
        2 * batch * (padded - k + 1) * conv.out_channels * conv.in_channels * k
        for k, conv in zip(encoder.kernel_sizes, encoder.convs, strict=True)
    )
    return 3.0 * forward


if __name__ == "__main__":
    main()

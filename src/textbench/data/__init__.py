"""Data: sources (raw splits) → tokenizer → `TextDataModule` (encoded, batched)."""

"""The commands: each a Hydra app over its own config (`app.hydra_app`), the console
scripts `textbench-train`, `-eval`, `-predict`, `-export`, and `-report` and `-reproduce`;
and Hydra's callbacks for them. Only Hydra and OmegaConf are imported at this level, so
`--help` and config errors return before torch loads."""

# Two commands from a fresh clone:
#   make run    set up (when needed) and train the default experiment (ARGS="model=cnn" to change it)
#   make test   set up (when needed) and run what CI runs: ruff, then the whole test suite
# Set-up: a virtual environment in .venv with the CPU build of torch first (a plain torch
# requirement pulls a multi-GB CUDA build; TORCH="torch --index-url
# https://download.pytorch.org/whl/cpu" elsewhere), then textbench with its dev extras.

PYTHON ?= python3
TORCH ?= torch==2.13.0
BIN := .venv/bin
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

.PHONY: setup run test system-packages

setup: $(BIN)/textbench-train

$(BIN)/textbench-train: pyproject.toml
	$(PYTHON) -m venv .venv
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

run: setup
	$(BIN)/textbench-train $(ARGS)

# PostgreSQL's server programs (the shared Optuna study tests start a throw-away server)
# and Chromium (the HTML report is opened headless); the tests that need them skip, with
# the reason, where they are missing and cannot be installed (apt-get needs root).
system-packages:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "not installed:$$missing (sudo apt-get install$$missing); their tests will skip"; \
		fi; \
	fi

test: setup system-packages
	$(BIN)/ruff check src tests bench experiments
	$(OFFLINE) $(BIN)/python -m pytest -n 2 --dist worksteal $(ARGS)

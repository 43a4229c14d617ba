# Self-documenting: `make help` lists every target with the text after `##`.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMPS := .stamps

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMPS)/deps: pyproject.toml | $(PY)
	@mkdir -p $(STAMPS)
	$(PIP) install -q 'maturin>=1.7,<2'
	$(PIP) install -q -e '.[dev]' --no-build-isolation
	@touch $@

.PHONY: install
install: $(STAMPS)/deps build ## Create .venv, install Python deps and build the Rust extension

.PHONY: build
build: | $(STAMPS)/deps ## Build the Rust extension into the venv (release)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH maturin develop --release -q

.PHONY: run
run: install ## Run ordex (embedded PostgreSQL, Redis and EVM dev chain under ./.ordex)
	$(VENV)/bin/ordex serve

# schemathesis (the API fuzzer) pins what web3-ethereum-defi cannot (pyrate-limiter): a venv of
# its own, used by tests/openapi and `make fuzz-api`.
$(STAMPS)/schemathesis:
	@mkdir -p $(STAMPS)
	python3 -m venv .venv-schemathesis
	.venv-schemathesis/bin/python -m pip install -q 'schemathesis>=4.3,<5'
	@touch $@

.PHONY: test
test: install $(STAMPS)/schemathesis ## Run every test: cargo test (engine, EVM decode, flow evaluator, Uniswap math), then pytest
	cargo test -q -p ordex-engine -p ordex-evm -p ordex-flow -p ordex-uniswap
	$(PY) -m pytest -q

.PHONY: test-rust
test-rust: ## Rust tests only (engine, EVM decode, flow evaluator, Uniswap math)
	cargo test -q -p ordex-engine -p ordex-evm -p ordex-flow -p ordex-uniswap

.PHONY: test-py
test-py: install $(STAMPS)/schemathesis ## Python tests only
	$(PY) -m pytest -q

.PHONY: fuzz-api
fuzz-api: install $(STAMPS)/schemathesis ## Fuzz the HTTP API with schemathesis (every check, 100 examples per operation) against its own server
	$(PY) -m tests.openapi.fuzz --examples $(or $(EXAMPLES),100)

.PHONY: lint
lint: install ## rustfmt, clippy -D warnings, ruff, mypy and stubtest
	cargo fmt --all -- --check
	cargo clippy -q --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests benchmarks
	$(VENV)/bin/ruff format --check python tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest ordex._engine --allowlist .stubtest-allowlist

.PHONY: fmt
fmt: install ## Format Rust and Python sources
	cargo fmt --all
	$(VENV)/bin/ruff format python tests benchmarks
	$(VENV)/bin/ruff check --fix python tests benchmarks

# The bench extra's requirements are installed on their own: `pip install -e '.[bench]'` would
# build the Rust extension a second time.
$(STAMPS)/bench-deps: pyproject.toml | $(STAMPS)/deps
	$(PY) -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["bench"]))' > $(STAMPS)/bench-requirements.txt
	$(PIP) install -q -r $(STAMPS)/bench-requirements.txt
	@# ethereum-etl and cryo (indexer benchmark) pin what ordex cannot: venvs of their own.
	$(PY) -m benchmarks.indexer.peers
	@# wrk drives the HTTP benchmarks (exchange intake, paper session orders): Debian's package.
	@command -v wrk >/dev/null || apt-get install -y -q wrk || sudo apt-get install -y -q wrk
	@touch $@

.PHONY: bench
bench: install $(STAMPS)/bench-deps ## Install the peer libraries, run every benchmark beside them and print the ratio table
	$(PY) -m benchmarks

.PHONY: clean
clean: ## Remove build outputs and the venv
	rm -rf target $(VENV) .venv-schemathesis $(STAMPS) python/ordex/*.so

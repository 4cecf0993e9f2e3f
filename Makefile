# Set-up and everyday commands. `make demo` serves the embedded demo; `make test` runs every test;
# `make check` is the quick loop: lint and the tests that need no bundle, browser, Node.js or several server
# processes (about a minute).
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test check bundle lint venv node clean

$(BIN)/python:
	"$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# The page's JavaScript is checked by TypeScript (pinned in package.json / package-lock.json; nothing is emitted).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

node: node_modules/.installed

bundle: venv
	$(BIN)/mug bundle

demo: bundle
	$(BIN)/uvicorn mug.app:app --ws mug.server.websocket:WebSocketProtocol --host $(HOST) --port $(PORT)

test: bundle lint
	$(BIN)/python -m pytest -q -ra

check: lint
	$(BIN)/python -m pytest -q -m "not browser and not node and not bundle and not processes"

lint: venv node
	$(BIN)/ruff check mug tests benchmarks examples
	$(BIN)/ruff format --check mug tests benchmarks examples
	$(BIN)/mypy
	node_modules/.bin/tsc -p tsconfig.json
	node_modules/.bin/tsc -p tsconfig.worker.json

clean:
	rm -rf $(VENV) node_modules pyodide_bundle/*.whl pyodide_bundle/pyodide* pyodide_bundle/python_stdlib.zip pyodide_bundle/mug-bundle.json

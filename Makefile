# mmaplab — developer and CI entry points.
#
#   make book        clean build of the Jupyter Book -> _build/html/index.html
#   make test-fast   the inner loop: ruff + mypy + the fast pytest tier on two cores
#   make test        ruff + mypy + pytest (unit tests, exercise nbval, book build, Binder check)
#
# Everything runs inside .venv, created on demand from pyproject.toml pinned by
# constraints.txt.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
STAMP       := $(VENV)/.mmaplab-installed
VENV_BIN    := $(CURDIR)/$(VENV)/bin
PY          := $(VENV_BIN)/python
JUPYTER_BOOK := $(VENV_BIN)/jupyter-book
# Interpreter used to create the venv: prefer python3.11, the version constraints.txt
# was resolved for.
PYTHON      ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
BOOK_FLAGS  := -W -n --keep-going

# Recipes (and the tests they start) find the venv's tools first, so a Jupyter kernel
# started by name runs the venv's interpreter.
export PATH := $(VENV_BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv book book-fast test test-fast lint clean distclean bench browser-deps \
	constraints publish linkcheck binder-constraints exercises

help:
	@echo "make venv          create .venv with mmaplab[dev] (pinned by constraints.txt)"
	@echo "make book          clean build of the book: _build/html/index.html"
	@echo "make book-fast     incremental, cached build for authors (may hide failures)"
	@echo "make test-fast     ruff, mypy, then the fast tier (not slow/kernel/browser) on 2 cores"
	@echo "make test          ruff, mypy, then pytest over tests/ (what CI runs)"
	@echo "make exercises     regenerate exercises/*.ipynb from mmaplab/exercises/sources/"
	@echo "make lint          ruff check . and mypy (mmaplab/, settings in pyproject.toml)"
	@echo "make bench         run the benchmarks, if any"
	@echo "make publish       clean book build, then push _build/html to gh-pages (ghp-import)"
	@echo "make linkcheck     check every external link of the book (Sphinx linkcheck)"
	@echo "make binder-constraints  re-resolve binder/constraints.txt over repo2docker's pins"
	@echo "make browser-deps  apt-get install Debian chromium + chromium-driver if missing"
	@echo "make constraints   re-resolve constraints.txt from pyproject.toml"
	@echo "make clean         remove build outputs and caches (keeps .venv)"
	@echo "make distclean     clean, and remove .venv"

venv: $(STAMP)

# Redone when the dependency declarations change, or when the package's __init__.py
# appears or changes (the editable install then has to see a regular package).
$(STAMP): pyproject.toml constraints.txt $(wildcard mmaplab/__init__.py)
	@test -n "$(PYTHON)" || { echo "error: no python3.11/python3 found" >&2; exit 1; }
	@"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "error: $(PYTHON) is older than Python 3.11" >&2; exit 1; }
	test -x $(PY) || "$(PYTHON)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -c constraints.txt
	touch $@

# THE book build: from clean, so jupyter-cache (_build/.jupyter_cache) cannot serve
# outputs computed against an older mmaplab.
# Pages are read and written in parallel (book/_ext/parallel.py); bytecode is cached even
# when PYTHONDONTWRITEBYTECODE is set (every notebook's kernel imports mmaplab).
book: venv
	rm -rf _build
	env -u PYTHONDONTWRITEBYTECODE $(JUPYTER_BOOK) build . $(BOOK_FLAGS)
	@echo "Book: $(CURDIR)/_build/html/index.html"

# Incremental build for authors: reuses cached notebook outputs and the Sphinx
# environment, so it can miss failures and stale outputs. `make book` is authoritative.
book-fast: venv
	env -u PYTHONDONTWRITEBYTECODE $(JUPYTER_BOOK) build . $(BOOK_FLAGS)
	@echo "Book: $(CURDIR)/_build/html/index.html"

# Manual publication (CI publishes from main through .github/workflows/pages.yml):
# ghp-import commits _build/html to the gh-pages branch (-n: with .nojekyll, so GitHub
# serves _static/; -f: replace the branch; -p: push it to origin).
publish: book
	$(VENV_BIN)/ghp-import -n -p -f -m "Publish the book from $$(git rev-parse --short HEAD)" _build/html

# External links only (the weekly workflow); allowances: sphinx.config.linkcheck_* in
# _config.yml. Notebooks are not executed: links live in the text.
linkcheck: venv
	$(JUPYTER_BOOK) build . --builder linkcheck

# The learner notebooks are generated from their one source each
# (mmaplab/exercises/sources/NN_slug.py), stored outputs included; tests fail when a
# committed notebook is stale.
exercises: venv
	$(PY) -m mmaplab.exercises.notebook build --dir exercises

lint: venv
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/mypy

# The inner loop: everything but the slow, Jupyter-kernel and browser tests (book builds,
# nbval, fresh venvs, sweeps beyond their representatives: tests/tiers.py), with the
# hypothesis profile `fast`, spread over FAST_JOBS pytest-xdist workers, a test file per
# worker (module-level caches: the kernel's seed batches, the import walk).  Bytecode is
# cached even when PYTHONDONTWRITEBYTECODE is set: recompiling every module (and pytest's
# assertion rewriting) in each worker and each console-script run cost ~15 s of CPU.  Not
# a substitute for `make test` before landing a change to notebooks, the book or packaging.
FAST_JOBS ?= 2
test-fast: venv
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/mypy
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q -n $(FAST_JOBS) --dist loadfile \
	  --hypothesis-profile=fast -m "not slow and not browser and not kernel"

# THE test command (CI runs exactly this through .ci/run).
test: venv browser-deps
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/mypy
	$(PY) -m pytest

bench: venv
	@if [ -d benchmarks ]; then \
	  $(PY) -m benchmarks; \
	else \
	  echo "No benchmarks yet (there is no benchmarks/ package)."; \
	fi

# Browser tests use Debian's chromium and chromedriver (never a downloaded browser).
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
	  echo "chromium and chromedriver present"; \
	else \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  set -x; \
	  $$SUDO apt-get update && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi

# Re-resolve the pinned set: fresh throw-away venv, unconstrained install of .[dev],
# freeze (without mmaplab itself).
constraints:
	@set -euo pipefail; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	"$(PYTHON)" -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$tmp/venv/bin/python" -m pip install --quiet '.[dev]'; \
	{ \
	  echo "# Fully resolved, pinned dependency set for \`pip install -e '.[dev]'\` on Python 3.11."; \
	  echo "# Every install of the development set (Makefile, CI) uses \`-c constraints.txt\`, so CI and"; \
	  echo "# developers run the same versions. Binder pins only what it adds: binder/constraints.txt."; \
	  echo "# Regenerate after changing dependencies in pyproject.toml: \`make constraints\`."; \
	  "$$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -vi '^mmaplab\b'; \
	} > constraints.txt.new; \
	mv constraints.txt.new constraints.txt; \
	echo "constraints.txt updated"

# binder/constraints.txt: what binder/requirements.txt adds to repo2docker's own server
# environment (read from the pinned jupyter-repo2docker package), resolved on top of it.
binder-constraints: venv
	$(PY) -m tests.book.binder_env --write-constraints

clean:
	rm -rf _build build dist .pytest_cache .ruff_cache .mypy_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type d -name .ipynb_checkpoints -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

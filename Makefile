# The two commands: `make run` (the whole site) and `make test` (the whole test suite).
# `make browser` installs Chromium (Debian's package, as root) for the browser tests, which stop the run without it.
PYTHON ?= python3
VENV := .venv
PORT ?= 8000
HOST ?= 127.0.0.1
# The CPU build of torch: from a local wheel folder when the machine has one, else PyTorch's CPU index.
TORCH_INDEX := $(if $(wildcard /opt/wheels/torch-2.13.0+cpu*),,--extra-index-url https://download.pytorch.org/whl/cpu)

.PHONY: run test install browser

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet $(TORCH_INDEX) -r requirements-dev.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

run: install
	$(VENV)/bin/python scripts/run.py --host $(HOST) --port $(PORT)

test: install
	$(VENV)/bin/python -m pytest

# Debian's Chromium for the browser tests (Playwright's own browser download needs a host this project
# does not reach). Nothing to do where one is on PATH already.
browser:
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

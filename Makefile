# `make run`: the local demo. `make test`: the whole suite. Each creates .venv if missing and
# installs what it needs (re-installing only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test synth clean chromium

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

$(VENV)/.installed-local: pyproject.toml | $(PY)
	$(PIP) -e '.[local]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed-local

run: $(VENV)/.installed-local
	$(VENV)/bin/cronbridge local --simulate 24h --summary-json .cronbridge/summary.json

# The dashboard's browser test needs Debian's chromium (Playwright cannot download its own
# browsers here); installed once, as root on a clean machine.
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

test: $(VENV)/.installed-dev chromium
	$(PY) -m pytest -n 2 -q

synth: $(VENV)/.installed-dev
	cd infra && npx --yes aws-cdk@2 synth --quiet

clean:
	rm -rf $(VENV) .cronbridge infra/cdk.out

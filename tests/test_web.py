"""The web view in a real browser (Debian's Chromium through Playwright) against the real service.

One service for the module: real Redis and PostgreSQL, a real worker (full enrichment) and
watcher, and `ingest web` as its own process. The tests run in order over what it ingested:
the seeds first (the live counters), then searches and pages over them, then a bad file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, SEEDS
from tests.service import Service, wait_until
from worker.service.embedded import free_port

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=20_000)  # a condition waited for, on a machine shared with other test runs

pytestmark = pytest.mark.integration

SCRIPT_TITLE = "<script>alert(1)</script>"


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    return path


@pytest.fixture(scope="module")
def service(redis_server, postgres_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    from worker.store import connect, empty, migrate

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    with connect(postgres_server.url) as conn:
        migrate(conn)
        empty(conn)
        conn.commit()
    port = free_port()
    svc = Service(redis_server.url, tmp_path_factory.mktemp("web"), sinks="files,postgres,stream",
                  postgres_url=postgres_server.url, enrich="full", web_port=str(port))
    svc.url = f"http://127.0.0.1:{port}"
    try:
        svc.start_worker()
        svc.start_watcher()
        svc.start("web", "web")
        wait_until(lambda: _status(svc.url + "/api/counters") == 200, 30, lambda: f"the web view:\n{svc.log_text('web')}")
        yield svc
    finally:
        svc.stop_all()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, service: Service):
    context = browser.new_context(base_url=service.url)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def _status(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def _record_id(service: Service, source_name: str) -> str:
    return next(r["id"] for r in service.records_list() if r["source"]["name"] == source_name)


def test_counters_reach_five_as_the_seeds_arrive_without_a_reload(page, service: Service) -> None:
    page.goto("/")
    expect(page.locator("#live-state")).to_have_text("live")
    page.evaluate("window.notReloaded = true")
    for seed in SEEDS:
        shutil.copy(seed, service.inbox / seed.name)
    expect(page.locator('[data-counter="records"]')).to_have_text("5", timeout=120_000)
    expect(page.locator('[data-counter="queued"]')).to_have_text("5")
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#feed li")).to_have_count(5)


def test_search_patriot_finds_three_records(page, service: Service) -> None:
    page.goto("/records")
    page.get_by_label("Search").fill("Patriot")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#result-count")).to_contain_text("3 results")
    expect(page.locator("li.result")).to_have_count(3)


def test_seed_000_shows_zelensky_as_one_person_highlighted_and_the_quote_with_its_speaker(
        page, service: Service) -> None:
    page.goto(f"/records/{_record_id(service, SEEDS[0].name)}")
    people = page.locator("ul.persons li").filter(has_text="Zelensky")
    expect(people).to_have_count(1)
    name = people.locator("a").inner_text()
    marks = page.locator(f'#body mark.person[title="{name}"]')
    assert marks.count() >= 1
    expect(marks.first).to_contain_text("Zelensky")
    quote = page.locator("ul.quotes li").filter(has_text="Nothing else works")
    expect(quote).to_have_count(1)
    expect(quote.locator(".speaker")).to_contain_text("Zelensky")


def test_a_bad_file_shows_in_failures_and_its_retry_queues_it_again(page, service: Service) -> None:
    client = redis.Redis.from_url(service.env["INGEST_REDIS_URL"])
    (service.inbox / "empty.txt").write_bytes(b"")
    wait_until(lambda: client.hlen("ingest:dead") == 1, 60, "a dead letter")
    page.goto("/failures")
    row = page.locator("tr.failure").filter(has_text="empty.txt")
    expect(row).to_contain_text("empty")
    row.get_by_role("button", name="Retry").click()
    expect(page.locator("#flash")).to_have_text("1 dead letter queued again.")
    wait_until(lambda: client.hget("ingest:stats", "failed") == b"2" and client.hlen("ingest:dead") == 1, 60,
               "the retried input to fail again")
    page.reload()
    expect(page.locator("tr.failure").filter(has_text="empty.txt")).to_have_count(1)
    client.close()


def test_retry_without_the_forms_csrf_token_is_refused(service: Service) -> None:
    assert _status(service.url + "/failures/retry", data=b"id=x") == 403
    assert _status(service.url + "/failures/retry", data=b"csrf=forged",
                   headers={"Cookie": "ingest_csrf=other"}) == 403


def test_a_title_of_markup_renders_as_text(page, service: Service) -> None:
    body = ("The council met on Tuesday to discuss the new budget for the harbour district. "
            "Members argued for three hours about the cost of dredging the old channel.\n") * 3
    article = {"title": SCRIPT_TITLE, "site": "<b>Harbour</b> News", "text": body}
    (service.inbox / "markup.json").write_text(json.dumps(article), encoding="utf-8")
    wait_until(lambda: any(r["source"]["name"] == "markup.json" for r in service.records_list()), 60, "its record")
    record_id = _record_id(service, "markup.json")
    page.goto(f"/records/{record_id}")
    expect(page.locator("#record-title")).to_have_text(SCRIPT_TITLE)
    page.goto("/records?q=harbour")
    expect(page.locator("li.result a.title")).to_have_text(SCRIPT_TITLE)
    page.goto("/")
    expect(page.locator("#feed")).to_contain_text(SCRIPT_TITLE)
    assert page.dialogs == []
    assert page.locator("main script").count() == 0


def test_on_loopback_without_a_token_other_host_names_are_refused(service: Service) -> None:
    assert _status(service.url + "/records") == 200
    assert _status(service.url + "/records", headers={"Host": "rebound.example"}) == 400


def test_beyond_loopback_the_view_needs_its_token(service: Service, tmp_path: Path) -> None:
    refused = subprocess.run([sys.executable, "-m", "worker.cli", "web", "--host", "0.0.0.0"], cwd=ROOT,
                             env={**service.env, "INGEST_WEB_TOKEN": ""}, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "INGEST_WEB_TOKEN" in refused.stderr
    port = free_port()
    gated = subprocess.Popen([sys.executable, "-m", "worker.cli", "web", "--port", str(port)], cwd=ROOT,
                             env={**service.env, "INGEST_WEB_TOKEN": "s3cret-token"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _status(url + "/records") == 401, 30, "the gated view to answer")
        assert _status(url + "/records", headers={"Authorization": "Bearer s3cret-token"}) == 200
        assert _status(url + "/records", headers={"Authorization": "Bearer wrong"}) == 401
        assert _status(url + "/records?token=s3cret-token") == 303  # sets the cookie, drops the token from the URL
    finally:
        gated.terminate()
        gated.wait(20)


def test_entities_rank_the_people_in_the_news_and_an_entity_page_lists_its_articles(
        page, service: Service) -> None:
    page.goto("/entities?days=all")
    zelensky = page.locator("ol.top.person").get_by_role("link", name="Volodymyr Zelensky", exact=True)
    expect(zelensky).to_have_count(1)
    zelensky.click()
    expect(page.locator("h1")).to_contain_text("Volodymyr Zelensky")
    expect(page.locator("svg.chart rect.mentions").first).to_be_visible()
    assert page.locator("ul.results li").count() >= 1


def test_duplicates_show_the_original_with_its_copies(page, service: Service) -> None:
    copy = (service.inbox / "copy-of-001.txt")
    copy.write_text(SEEDS[1].read_text(encoding="utf-8") + "\n\nFile reference: archive copy.\n", encoding="utf-8")
    wait_until(lambda: any(r["source"]["name"] == "copy-of-001.txt" for r in service.records_list()), 60, "the copy")
    original = _record_id(service, SEEDS[1].name)
    page.goto("/duplicates")
    cluster = page.locator("section.cluster").filter(has=page.locator(f'h2 a[href="/records/{original}"]'))
    expect(cluster.locator("li")).to_have_count(1)
    expect(cluster.locator(".badge.dup")).to_contain_text("near copy")

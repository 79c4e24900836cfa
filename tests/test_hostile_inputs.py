"""A hostile user's files, each once a way around "one record or one failure naming why".

Each test is one attack found by running the service and fixed at its cause; the real pipeline,
the session's real Redis and (where the attack reached it) the real PostgreSQL.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis

from worker.errors import BadInput
from worker.models import FailureRecord, Record, SourceFile
from worker.pipeline.budget import Deadline
from worker.pipeline.parse import parse
from worker.pipeline.dedupe import DedupIndex
from worker.service import fanout, policy
from worker.service.delivery import deliver
from worker.settings import Settings
from worker.sources.messages import make_message, open_message, read_source
from worker.store import connect

LEAD = "The minister said on Tuesday that the plan would cost 3 million euros. " * 20


def _outcomes(path: Path, client: redis.Redis, settings: Settings) -> list[Record | FailureRecord]:
    source, data, error = read_source(path, path.parent, settings.max_file_bytes)
    return policy.run_or_fail(source, data or b"", error, DedupIndex.from_settings(client, settings), settings)


def test_a_text_too_big_for_the_stores_search_index_becomes_one_failure_naming_it_not_endless_retries(
        postgres_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """90,000 distinct tokens (a dump of short hashes) stay under the word limit, but their search
    vector passes PostgreSQL's 1 MB tsvector limit: the store refuses the row, which no retry
    can change; it was retried as "PostgreSQL unavailable" for ever, the worker unhealthy."""
    settings = Settings(enrich="fast", records_dir=tmp_path / "records", sinks="files,postgres",
                        postgres_url=postgres_url, postgres_wait_seconds=0.5)
    path = tmp_path / "hashes.txt"
    path.write_text("Checksums of the release. " + " ".join(
        hashlib.sha1(str(i).encode()).hexdigest()[:8] for i in range(90_000)))
    counts = deliver(_outcomes(path, redis_client, settings), None, redis_client, settings)
    assert counts == {"failed": 1}
    [failed] = (tmp_path / "records" / "_failed").glob("*.json")
    error = json.loads(failed.read_text())["error"]
    assert error["type"] == "unstorable" and "tsvector" in error["message"], error
    assert not list((tmp_path / "records").glob("*.json"))
    with connect(postgres_url) as conn:
        assert conn.execute("SELECT error_type FROM failures").fetchall() == [("unstorable",)]
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 0


def test_of_a_jsonl_file_only_the_line_the_store_refuses_fails_and_the_others_are_records(
        postgres_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    settings = Settings(enrich="fast", records_dir=tmp_path / "records", sinks="files,postgres",
                        postgres_url=postgres_url, postgres_wait_seconds=0.5)
    hashes = " ".join(hashlib.sha1(str(i).encode()).hexdigest()[:8] for i in range(90_000))
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps({"title": f"Article {n}", "text": text}) for n, text in (
        (1, LEAD), (2, "Checksums of the release. " + hashes), (3, LEAD.replace("Tuesday", "Friday")))))
    counts = deliver(_outcomes(path, redis_client, settings), None, redis_client, settings)
    assert (counts["records"], counts["failed"]) == (2, 1)
    [failed] = (tmp_path / "records" / "_failed").glob("*.json")
    assert json.loads(failed.read_text())["source"]["line"] == 2
    with connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 2


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"], ids=["nul", "lone_surrogate"])
def test_a_json_article_with_a_nul_or_lone_surrogate_escape_in_its_fields_is_a_stored_record(
        escape: str, postgres_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """JSON may escape characters no UTF-8 file and no PostgreSQL text can hold; they were an
    ``internal_error`` (a TypeError writing the record, a DataError storing it)."""
    settings = Settings(enrich="fast", records_dir=tmp_path / "records", sinks="files,postgres",
                        postgres_url=postgres_url)
    path = tmp_path / "article.json"
    path.write_text(f'{{"title": "Budget {escape}vote", "author": "Ann {escape}Lee", "url": '
                    f'"https://example.com/{escape}a", "source": "Daily{escape}", "text": "{LEAD}{escape}"}}')
    [outcome] = _outcomes(path, redis_client, settings)
    assert deliver([outcome], None, redis_client, settings)["records"] == 1
    record = json.loads((tmp_path / "records" / f"{outcome.id}.json").read_text())
    assert record["title"].startswith("Budget") and record["authors"][0].startswith("Ann")
    with connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 1


def test_a_gzip_file_of_many_tiny_members_is_stopped_by_the_articles_time_budget() -> None:
    """400,000 empty members in 8 MB cost a minute of CPU to read before the budget looked."""
    ticks = itertools.count()
    deadline = Deadline(1_000, clock=lambda: next(ticks))  # a clock one second on at each look
    with pytest.raises(BadInput, match=r"timeout: parse \(gzip\) exceeded"):
        parse(gzip.compress(b"") * 5_000, "many.txt.gz", max_decompressed_bytes=1 << 20, check=deadline.check)


def test_gzip_members_padded_with_zeros_are_read_whole() -> None:
    data = b"".join(gzip.compress(f"Part {n} of the article, said the minister. ".encode() * 50) + b"\0" * n
                    for n in range(1, 40))
    [doc] = parse(data, "parts.txt.gz", max_decompressed_bytes=1 << 20)
    assert doc.compression == "gzip" and doc.text.count("said the minister") == 39 * 50


@pytest.mark.parametrize("name, content", [
    ("empties.jsonl", "{}\n" * 1_001),
    ("empties.json", "[" + ",".join(["{}"] * 1_001) + "]"),
], ids=["jsonl", "json_array"])
def test_a_file_of_more_articles_than_the_limit_is_one_failure_not_one_per_article(
        name: str, content: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Each article of a file is an outcome with its Redis entries (about 2.2 KB a failed line,
    measured): 60 KB of `{}` lines took 44 MB of Redis, so 16 MiB of them would fill it."""
    settings = Settings(enrich="fast", records_dir=tmp_path / "records", max_articles=1_000, fanout_articles=250)
    path = tmp_path / name
    path.write_text(content)
    source, data, error = read_source(path, path.parent, settings.max_file_bytes)
    assert fanout.slices(make_message(source, data), settings) == []  # it runs whole, to one failure
    [outcome] = _outcomes(path, redis_client, settings)
    assert isinstance(outcome, FailureRecord) and outcome.error.type == "too_many", outcome
    assert "1,000 articles (INGEST_MAX_ARTICLES)" in outcome.error.message


def test_a_message_claiming_a_small_size_for_bytes_over_the_limit_is_too_large(
        redis_client: redis.Redis, tmp_path: Path) -> None:
    """Whoever holds the Redis password can queue a message; its `size` was trusted, so any
    amount of bytes claiming to be small went through the pipeline."""
    settings = Settings(enrich="fast", records_dir=tmp_path / "records", max_file_bytes=1_000)
    data = (LEAD * 4).encode()
    message = make_message(SourceFile(name="small.txt", path="small.txt", sha256=hashlib.sha256(data).hexdigest(),
                                      size=10, received_at=datetime.now(timezone.utc)), data)
    source, content, error = open_message(message)
    [outcome] = policy.run_or_fail(source, content, error, DedupIndex.from_settings(redis_client, settings), settings)
    assert isinstance(outcome, FailureRecord) and outcome.error.type == "too_large", outcome
    assert f"{len(data)} bytes" in outcome.error.message


def test_a_text_of_one_endless_token_is_too_long_though_it_counts_one_word(
        redis_client: redis.Redis, tmp_path: Path) -> None:
    """15 MB without white space was a record of one "word" (11 s of CPU, 650 MB, a 15 MB body)."""
    settings = Settings(enrich="fast", records_dir=tmp_path / "records", max_words=1_000)
    path = tmp_path / "token.txt"
    path.write_text("The minister said " + "x" * 20_000)
    [outcome] = _outcomes(path, redis_client, settings)
    assert isinstance(outcome, FailureRecord) and outcome.error.type == "too_long", outcome
    assert "20,018 characters, more than 10,000" in outcome.error.message


def test_a_page_with_an_element_of_a_hundred_thousand_attributes_is_refused_before_parsing() -> None:
    """Attributes of one element cost the HTML parser quadratic time (25,000: 2.6 s of CPU,
    100,000: 89 s), out of the time budget's reach: 1.5 MB of them held a worker for minutes."""
    attributes = " ".join(f'data-a{i}="{i}"' for i in range(100_000))
    page = f"<html><head><title>Vote</title></head><body><p {attributes}>{LEAD}</p></body></html>"
    with pytest.raises(BadInput, match="100,000 attributes, more than 1,000") as caught:
        parse(page.encode(), "page.html", max_decompressed_bytes=1 << 26)
    assert caught.value.kind == "too_complex"


def test_a_page_of_a_million_elements_is_refused_before_parsing() -> None:
    """1,000,000 elements in 8 MB took the parser 120 s of CPU and 2.3 GB before the time
    budget could look; the largest real page we have holds 15,778 tags, a 100,000-deep page of divs 200,000."""
    page = f"<html><head><title>Vote</title></head><body><p>{LEAD}</p>{'<b>x</b>' * 1_000_000}</body></html>"
    with pytest.raises(BadInput, match=r"2,000,0\d\d tags, more than 250,000") as caught:
        parse(page.encode(), "page.html", max_decompressed_bytes=1 << 26)
    assert caught.value.kind == "too_complex"


def test_a_page_whose_minified_script_reads_like_a_huge_tag_is_read() -> None:
    """Minified JavaScript ("a<t.length?t:null}...==...") is no tag: two pages of the shared
    extraction benchmark became too_complex failures when the check counted "=" in scripts."""
    script = "function J(t){return" + "".join(f' x{i}=t.length<{i}?t:null==t;' for i in range(1_100)) + "}"
    page = (f"<html><head><title>Vote</title><script>if(a<t.length?t:null){script}</script></head>"
            f"<body><article><p>{LEAD}</p></article></body></html>")
    [doc] = parse(page.encode(), "page.html", max_decompressed_bytes=1 << 26)
    assert not isinstance(doc, BadInput) and "plan would cost 3 million euros" in doc.text

"""An article that ends as a failure after dedupe indexed it leaves nothing in the dedup index:
a later copy of it is the original, not a duplicate of a record that was never written. Real
Redis, the real pipeline; the failures are a real timeout of enrichment and the injected fault
of ``tests.crashing_stage``."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
import redis

from tests.conftest import SEEDS
from tests.crashing_stage import CRASHES, crashing
from tests.service import jsonl_from_seeds
from worker import pipeline
from worker.models import Article, FailureRecord, Outcome, Record, SourceFile
from worker.pipeline.dedupe import DedupIndex, Entry
from worker.pipeline.enrich import enrich
from worker.pipeline.normalise import normalise
from worker.pipeline.parse import parse
from worker.service import policy
from worker.settings import Settings

from .conftest import DATA

SETTINGS = Settings(enrich="fast")


def source(data: bytes, name: str) -> SourceFile:
    return SourceFile(name=name, path=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                      received_at=datetime.now(timezone.utc))


def outcome_of(data: bytes, name: str, index: DedupIndex, settings: Settings = SETTINGS) -> Outcome:
    """The one outcome of a file of one article, as the service makes it (``policy.run_or_fail``)."""
    [outcome] = policy.run_or_fail(source(data, name), data, None, index, settings)
    return outcome


def story(title: str, number: int = 0) -> bytes:
    return json.dumps({"title": title, "text": SEEDS[number].read_text(encoding="utf-8")}).encode()


def article(data: bytes, name: str) -> Article:
    [doc] = parse(data, name, max_decompressed_bytes=10**7)
    return normalise(doc)


@pytest.fixture
def index(redis_client: redis.Redis) -> DedupIndex:
    return DedupIndex.from_settings(redis_client, SETTINGS)


@pytest.fixture
def crashing_enrichment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enrichment raises on the article titled ``CRASHES`` (``tests.crashing_stage``)."""
    monkeypatch.setattr(pipeline, "enrich", crashing(pipeline.enrich))


def test_a_copy_of_an_article_whose_enrichment_ran_out_of_time_is_unique(index: DedupIndex) -> None:
    """The five seeds three times over (5,600 words) take NER about 0.65 s of CPU, parse and
    normalise under 0.01 s: a budget of 0.15 s runs out in enrichment, after dedupe."""
    slow = Settings(enrich="full", article_seconds=0.15)
    enrich(article(SEEDS[4].read_bytes(), "warm.txt"), "full", spacy_model=slow.spacy_model)  # the model loaded
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in SEEDS * 3)
    failed = outcome_of(text.encode(), "long.txt", index, slow)
    assert isinstance(failed, FailureRecord), failed
    assert failed.error.message.startswith("timeout: enrich"), failed.error.message
    copy = outcome_of(text.replace("\n", "\r\n").encode(), "copy.txt", index)
    assert isinstance(copy, Record) and copy.dedup.status == "unique", copy.dedup


@pytest.mark.usefixtures("crashing_enrichment")
def test_a_copy_of_an_article_whose_enrichment_raised_is_unique(index: DedupIndex) -> None:
    failed = outcome_of(story(CRASHES), "crashes.json", index)
    assert isinstance(failed, FailureRecord) and failed.error.type == "internal_error"
    copy = outcome_of(story("A copy"), "copy.json", index)
    assert isinstance(copy, Record) and copy.dedup.status == "unique", copy.dedup


def test_the_retry_of_a_failed_file_is_not_a_duplicate_of_itself_and_is_indexed_again(
        index: DedupIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    data = story(CRASHES)
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "enrich", crashing(pipeline.enrich))
        assert isinstance(outcome_of(data, "crashes.json", index), FailureRecord)
    retried = outcome_of(data, "crashes.json", index)  # the fault gone: the same file, the same id
    assert isinstance(retried, Record) and retried.dedup.status == "unique", retried.dedup
    copy = outcome_of(story("A copy"), "copy.json", index)
    assert (copy.dedup.status, copy.dedup.duplicate_of) == ("exact_duplicate", retried.id)


@pytest.mark.usefixtures("crashing_enrichment")
def test_a_duplicate_that_then_fails_leaves_its_original_indexed(index: DedupIndex) -> None:
    original = outcome_of(story("The original"), "original.json", index)
    assert isinstance(original, Record) and original.dedup.status == "unique"
    assert isinstance(outcome_of(story(CRASHES), "crashes.json", index), FailureRecord)
    copy = outcome_of(story("A copy"), "copy.json", index)
    assert (copy.dedup.status, copy.dedup.duplicate_of) == ("exact_duplicate", original.id)


@pytest.mark.usefixtures("crashing_enrichment")
def test_a_near_copy_of_a_failed_article_is_unique(index: DedupIndex) -> None:
    """The near route (LSH bands) skips a withdrawn entry too: the wire copy of seed 1 without
    the newspaper's chrome is a near duplicate of it when seed 1 is recorded."""
    crashed = json.dumps({"title": CRASHES, "text": SEEDS[1].read_text(encoding="utf-8")}).encode()
    assert isinstance(outcome_of(crashed, "crashes.json", index), FailureRecord)
    wire = outcome_of((DATA / "dedupe" / "001_wire_copy.txt").read_bytes(), "wire.txt", index)
    assert isinstance(wire, Record) and wire.dedup.status == "unique", wire.dedup


def test_a_redis_error_withdrawing_the_entry_is_raised_for_a_retry(
        index: DedupIndex, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """Enrichment fails after replacing the index's slices with keys of another type, so the
    withdrawal meets a real Redis error (WRONGTYPE): the message must be retried, not recorded
    as the article's failure with its entry left behind."""
    real_enrich = pipeline.enrich

    def enrich_breaking_the_index(art, *args, **kwargs):  # type: ignore[no-untyped-def]
        if art.title == CRASHES:
            for key in redis_client.scan_iter(f"{index.keys_prefix}:s:*"):
                redis_client.delete(key)
                redis_client.hset(key, "not", "a slice")
            raise RuntimeError("injected fault: enrichment raises on this article")
        return real_enrich(art, *args, **kwargs)

    monkeypatch.setattr(pipeline, "enrich", enrich_breaking_the_index)
    data = story(CRASHES)
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        policy.run_or_fail(source(data, "crashes.json"), data, None, index, SETTINGS)
    assert policy.classify(redis.ResponseError("WRONGTYPE"), SETTINGS).kind == "transient"


def test_forget_withdraws_only_the_slot_still_holding_its_record_id(index: DedupIndex) -> None:
    fp = index.fingerprint(article(SEEDS[2].read_bytes(), "seed.txt"))
    result, entry = index.check_and_insert_entry(fp, "seed2")
    assert result.status == "unique" and entry is not None and entry.record_id == "seed2"
    assert not index.forget(Entry("another", entry.slice, entry.slot))
    assert index.check_and_insert(fp, "copy").duplicate_of == "seed2"
    assert index.forget(entry)
    assert not index.forget(entry)  # withdrawn already
    assert index.check_and_insert(fp, "copy").status == "unique"


def test_a_withdrawal_keeps_the_slices_expiry(index: DedupIndex, redis_client: redis.Redis) -> None:
    _, entry = index.check_and_insert_entry(index.fingerprint(article(SEEDS[0].read_bytes(), "seed.txt")), "seed0")
    index.forget(entry)
    assert redis_client.ttl(f"{index.keys_prefix}:s:{entry.slice}") > 0


def test_a_withdrawal_after_its_slice_expired_recreates_nothing(index: DedupIndex, redis_client: redis.Redis) -> None:
    _, entry = index.check_and_insert_entry(index.fingerprint(article(SEEDS[0].read_bytes(), "seed.txt")), "seed0")
    key = f"{index.keys_prefix}:s:{entry.slice}"
    redis_client.delete(key)  # what its expiry does
    assert not index.forget(entry)
    assert not redis_client.exists(key)  # a key made now would never expire


def test_a_duplicate_makes_no_entry_to_withdraw(index: DedupIndex) -> None:
    fp = index.fingerprint(article(SEEDS[3].read_bytes(), "seed.txt"))
    index.check_and_insert(fp, "seed3")
    result, entry = index.check_and_insert_entry(fp, "copy")
    assert (result.status, entry) == ("exact_duplicate", None)


def test_the_same_record_checked_again_gets_the_entry_it_made(index: DedupIndex) -> None:
    fp = index.fingerprint(article(SEEDS[3].read_bytes(), "seed.txt"))
    first = index.check_and_insert_entry(fp, "seed3")
    assert index.check_and_insert_entry(fp, "seed3") == first


def test_the_records_of_a_slice_ended_by_the_tasks_time_limit_leave_no_entry(
        index: DedupIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery's soft time limit met in line 43 fails the slice 41-45 whole (``test_policy``): lines
    41 and 42, already records of this run, are delivered by none, so a copy of line 41 is new."""
    from celery.exceptions import SoftTimeLimitExceeded

    from tests.crashing_stage import raising

    monkeypatch.setattr(pipeline, "enrich", raising(pipeline.enrich, lambda art: "Archive item 43." in art.body,
                                                    SoftTimeLimitExceeded("SoftTimeLimitExceeded()")))
    rows = jsonl_from_seeds(45).splitlines(keepends=True)
    data = b"".join(rows[40:])
    [failure] = policy.run_or_fail(source(data, "feed.jsonl"), data, None, index, SETTINGS, first_line=41)
    assert failure.error.message.startswith("SoftTimeLimitExceeded")
    copy = outcome_of(rows[40], "line41.jsonl", index)
    assert isinstance(copy, Record) and copy.dedup.status == "unique", copy.dedup

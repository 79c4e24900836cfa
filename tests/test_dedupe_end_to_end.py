"""Near-duplicate detection through the whole service: copies handled at the same moment by
different worker processes still give exactly one original."""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA, SEEDS
from tests.service import Service, wait_until

pytestmark = pytest.mark.integration

COPIES = 200


def _copies(text: str) -> list[bytes]:
    """200 distinct files of one story: exact copies in other bytes, and near copies."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    variants: list[bytes] = []
    for number in range(COPIES):
        kind = number % 4
        if kind == 0:    # exact: the same text with other white space and line endings
            variants.append((text.replace("\n", "\r\n") + " " * (number + 1)).encode("utf-8"))
        elif kind == 1:  # exact: another encoding
            variants.append(codecs.BOM_UTF16_LE + (text + "\n" * (number + 1)).encode("utf-16-le"))
        elif kind == 2:  # near: cut to most of its paragraphs, with a wire footer
            keep = paragraphs[: max(3, len(paragraphs) - 1 - number % 3)]
            variants.append(("\n".join(keep) + f"\n(Reuters) copy {number}\n").encode("utf-8"))
        else:            # exact body: another headline and a newsletter line (both leave the body)
            variants.append((f"Breaking: story {number}\n\nSign up for our newsletter\n"
                             + "\n".join(paragraphs[1:]) + "\n").encode("utf-8"))
    return variants


def test_200_copies_dropped_at_once_on_two_workers_give_exactly_one_original(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path, enrich="off")
    try:
        for number, data in enumerate(_copies(SEEDS[0].read_text(encoding="utf-8"))):
            (service.inbox / f"copy-{number:03d}.txt").write_bytes(data)
        service.start_worker("worker-a", concurrency=2)
        service.start_worker("worker-b", concurrency=2)
        service.start_watcher()
        records = service.wait_for_records(COPIES, timeout=120)
        statuses = [r["dedup"]["status"] for r in records]
        assert statuses.count("unique") == 1
        original = next(r["id"] for r in records if r["dedup"]["status"] == "unique")
        assert {r["dedup"]["duplicate_of"] for r in records if r["id"] != original} == {original}
        assert statuses.count("exact_duplicate") >= COPIES * 3 // 4 - 1
        assert statuses.count("near_duplicate") >= COPIES // 4 - 1
    finally:
        service.stop_all()


def test_wire_copy_of_a_seed_dropped_after_it_is_a_near_duplicate_of_it(redis_url: str, tmp_path: Path) -> None:
    service = Service(redis_url, tmp_path, enrich="off")
    try:
        service.start_worker()
        service.start_watcher()
        shutil.copy(SEEDS[1], service.inbox / "paper.txt")
        original = service.wait_for_records(1)[0]
        shutil.copy(DATA / "dedupe" / "001_wire_copy.txt", service.inbox / "wire.txt")
        records = {r["source"]["name"]: r for r in service.wait_for_records(2)}
        assert records["wire.txt"]["dedup"]["status"] == "near_duplicate"
        assert records["wire.txt"]["dedup"]["duplicate_of"] == original["id"]
        assert json.loads((service.records / f"{original['id']}.json").read_text())["dedup"]["status"] == "unique"
    finally:
        service.stop_all()


def test_on_duplicate_skip_writes_no_record_for_the_copy_but_counts_it(redis_url: str, tmp_path: Path) -> None:
    import redis

    service = Service(redis_url, tmp_path, enrich="off", on_duplicate="skip")
    try:
        service.start_worker()
        service.start_watcher()
        shutil.copy(SEEDS[1], service.inbox / "paper.txt")
        service.wait_for_records(1)
        shutil.copy(DATA / "dedupe" / "001_wire_copy.txt", service.inbox / "wire.txt")
        service.wait_for_log("worker", "skipped wire.txt: near_duplicate")
        # logged as it is decided; counted in Redis a moment later, with the file's other outcomes
        client = redis.Redis.from_url(redis_url)
        wait_until(lambda: client.hget("ingest:stats", "skipped") == b"1", 30, "the copy counted as skipped")
        assert [r["source"]["name"] for r in service.records_list()] == ["paper.txt"]
    finally:
        service.stop_all()

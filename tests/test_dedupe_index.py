"""The dedup index against a real Redis: what is unique, an exact or a near duplicate, and for
how long. Articles go through the real parse and normalise stages, as in the pipeline."""

from __future__ import annotations

import time

import pytest
import redis

from worker.models import Article, DedupResult
from worker.pipeline.dedupe import DedupIndex
from worker.pipeline.normalise import normalise
from worker.pipeline.parse import parse
from worker.settings import Settings

from .conftest import DATA, SEEDS

WIRE_COPY_001 = DATA / "dedupe" / "001_wire_copy.txt"


def article(data: bytes, name: str = "a.txt") -> Article:
    [doc] = parse(data, name, max_decompressed_bytes=10**7)
    return normalise(doc)


def seed(number: int) -> Article:
    return article(SEEDS[number].read_bytes(), SEEDS[number].name)


@pytest.fixture
def index(redis_client: redis.Redis) -> DedupIndex:
    return DedupIndex.from_settings(redis_client, Settings())


def check(index: DedupIndex, art: Article, rid: str) -> DedupResult:
    return index.check_and_insert(index.fingerprint(art), rid)


def test_dedupe_all_five_seeds_are_unique(index: DedupIndex) -> None:
    # 000-003 are four different stories on one topic (Zelensky, Trump, air defence).
    assert [check(index, seed(i), f"seed{i}").status for i in range(5)] == ["unique"] * 5


def test_dedupe_same_topic_different_story_stays_unique_whatever_the_order(index: DedupIndex) -> None:
    assert [check(index, seed(i), f"seed{i}").status for i in (3, 2, 1, 0)] == ["unique"] * 4


def test_dedupe_wire_copy_without_the_newspapers_chrome_is_near_duplicate(index: DedupIndex) -> None:
    check(index, seed(1), "seed1")
    result = check(index, article(WIRE_COPY_001.read_bytes()), "wire")
    assert (result.status, result.duplicate_of) == ("near_duplicate", "seed1")
    assert 0.7 <= result.similarity < 1.0


def test_dedupe_copy_cut_to_three_fifths_is_near_duplicate(index: DedupIndex) -> None:
    check(index, seed(0), "seed0")
    body = seed(0).body
    cut = Article(body=body[: len(body) * 3 // 5])
    result = check(index, cut, "cut")
    assert (result.status, result.duplicate_of) == ("near_duplicate", "seed0")
    assert result.similarity >= 0.9  # containment: almost all of the copy is in the original


def test_dedupe_original_seen_after_its_cut_copy_is_near_duplicate_of_the_copy(index: DedupIndex) -> None:
    body = seed(0).body
    check(index, Article(body=body[: len(body) * 3 // 5]), "cut")
    assert check(index, seed(0), "seed0").duplicate_of == "cut"  # first seen is the original


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252"])
def test_dedupe_same_seed_re_encoded_is_exact_duplicate(index: DedupIndex, encoding: str) -> None:
    check(index, seed(2), "seed2")
    text = SEEDS[2].read_text()
    if encoding == "cp1252":  # a Windows CMS: straight quotes and dashes, CRLF
        text = text.translate(str.maketrans("\u2018\u2019\u201c\u201d\u2013", "''\"\"-")).replace("\n", "\r\n")
    data = text.encode(encoding)
    assert data != SEEDS[2].read_bytes()
    result = check(index, article(data, "copy.txt"), "copy")
    assert result == DedupResult(status="exact_duplicate", duplicate_of="seed2", similarity=1.0)


def test_dedupe_record_checked_again_is_still_unique(index: DedupIndex) -> None:
    first = check(index, seed(0), "seed0")
    again = check(index, seed(0), "seed0")  # a retried task
    assert first.status == again.status == "unique"


def test_dedupe_duplicate_checked_again_points_at_the_same_original(index: DedupIndex) -> None:
    check(index, seed(1), "seed1")
    copy = article(WIRE_COPY_001.read_bytes())
    assert check(index, copy, "wire") == check(index, copy, "wire")


def test_dedupe_duplicates_are_not_indexed(index: DedupIndex, redis_client: redis.Redis) -> None:
    check(index, seed(0), "seed0")
    used = _index_bytes(redis_client)
    check(index, seed(0), "copy")
    check(index, Article(body=seed(0).body[:2000]), "cut")
    assert _index_bytes(redis_client) == used


def test_dedupe_index_is_shared_by_a_new_index_object_on_another_connection(
    index: DedupIndex, redis_url: str
) -> None:
    check(index, seed(4), "seed4")
    other = DedupIndex.from_settings(redis.Redis.from_url(redis_url), Settings())  # a restarted worker
    assert check(other, seed(4), "copy").duplicate_of == "seed4"


def test_dedupe_entries_age_out_after_ttl(redis_client: redis.Redis) -> None:
    index = DedupIndex(redis_client, ttl=2)
    check(index, seed(0), "seed0")
    assert check(index, seed(0), "copy").status == "exact_duplicate"
    old_keys = set(redis_client.keys("ingest:dedup:*"))
    time.sleep(3.2)
    assert check(index, seed(0), "later").status == "unique"
    assert old_keys.isdisjoint(redis_client.keys("ingest:dedup:*"))  # memory given back too


def test_dedupe_entries_stay_within_the_ttl(redis_client: redis.Redis) -> None:
    index = DedupIndex(redis_client, ttl=4)
    check(index, seed(0), "seed0")
    time.sleep(2.2)
    assert check(index, seed(0), "copy").duplicate_of == "seed0"


def test_dedupe_keys_carry_an_expiry(index: DedupIndex, redis_client: redis.Redis) -> None:
    check(index, seed(0), "seed0")
    ttls = [redis_client.ttl(key) for key in redis_client.keys("ingest:dedup:*")]
    ttl = Settings().dedup_ttl
    assert ttls and all(ttl <= t <= ttl * 3 // 2 for t in ttls)  # the TTL plus at most a slice


def test_dedupe_thresholds_come_from_settings(redis_client: redis.Redis) -> None:
    strict = DedupIndex.from_settings(redis_client, Settings(near_threshold=0.99, containment_threshold=0.99))
    check(strict, seed(1), "seed1")
    assert check(strict, article(WIRE_COPY_001.read_bytes()), "wire").status == "unique"


def test_dedupe_record_id_too_long_for_the_index_is_refused(index: DedupIndex) -> None:
    with pytest.raises(ValueError):
        check(index, seed(0), "x" * 33)


def _index_bytes(client: redis.Redis) -> int:
    """Bytes of data in the index: slot logs and bucket hashes."""
    total = 0
    for key in client.keys("ingest:dedup:*"):
        if client.type(key) == b"hash":
            total += sum(len(v) for v in client.hgetall(key).values())
        else:
            total += client.strlen(key)
    return total



def test_dedupe_same_shingles_in_other_words_is_near_not_exact(index: DedupIndex) -> None:
    # Both have the same two shingles ("air defence air defence air", ...): equal signatures.
    check(index, Article(body="air defence " * 3), "three")
    result = check(index, Article(body="air defence " * 4), "four")
    assert (result.status, result.duplicate_of) == ("near_duplicate", "three")


def test_dedupe_other_shingle_parameters_start_a_separate_index(redis_client: redis.Redis) -> None:
    check(DedupIndex(redis_client, ttl=60, shingle_size=5), seed(0), "seed0")
    assert check(DedupIndex(redis_client, ttl=60, shingle_size=4), seed(0), "copy").status == "unique"


def test_dedupe_article_without_words_leaves_later_ones_findable(index: DedupIndex) -> None:
    """A body with no words ("* * *") has no MinHash; its slot must still be full-size, or every
    slot after it in the slice is read at the wrong offset."""
    check(index, seed(0), "seed0")
    assert check(index, Article(body="* * *"), "short").status == "unique"
    check(index, seed(1), "seed1")
    assert (check(index, seed(1), "again1").duplicate_of, check(index, seed(0), "again0").duplicate_of) == (
        "seed1", "seed0")
    assert check(index, Article(body="* * *"), "short2").duplicate_of == "short"


def test_dedupe_copy_is_found_among_many_templated_briefs(index: DedupIndex) -> None:
    """Templated items ("Council item N was approved ...") share most band keys; only the
    candidates sharing the most bands are verified, and the real original is among them."""
    check(index, seed(0), "seed0")
    for n in range(300):
        check(index, Article(body=f"Council item {n} was approved on Tuesday by {n % 97} votes to "
                                  f"{n % 13}, the clerk said in a statement about Ukraine and Davos."), f"brief{n}")
    body = seed(0).body
    result = check(index, Article(body=body[: len(body) * 4 // 5]), "cut")
    assert (result.status, result.duplicate_of) == ("near_duplicate", "seed0")


def opening(body: str, share: float, least: int = 60) -> str:
    """The first ``share`` of the body's words (at least ``least``): a teaser as aggregators and
    syndication feeds reprint one."""
    words = body.split(" ")
    return " ".join(words[: max(least, int(len(words) * share))])


@pytest.mark.parametrize("number", range(5))
def test_dedupe_teaser_holding_the_opening_fifth_of_a_seed_is_near_duplicate_of_it(
    index: DedupIndex, number: int
) -> None:
    for i in range(5):
        check(index, seed(i), f"seed{i}")
    result = check(index, Article(body=opening(seed(number).body, 0.2)), "teaser")
    assert (result.status, result.duplicate_of) == ("near_duplicate", f"seed{number}")
    assert result.similarity >= 0.7  # containment: the teaser is inside its original


def test_dedupe_original_seen_after_its_teaser_is_near_duplicate_of_the_teaser(index: DedupIndex) -> None:
    check(index, Article(body=opening(seed(1).body, 0.2)), "teaser")
    assert check(index, seed(1), "seed1").duplicate_of == "teaser"  # first seen is the original


def test_dedupe_opening_under_sixty_words_is_not_a_teaser(index: DedupIndex) -> None:
    check(index, seed(0), "seed0")
    assert check(index, Article(body=opening(seed(0).body, 0.0, least=45)), "snippet").status == "unique"


def test_dedupe_other_story_opening_with_a_seeds_first_paragraph_stays_unique(index: DedupIndex) -> None:
    """Every lead band shared, but the rest is another story on the same topic (seed 3, air
    defence, after seed 0's opening on Zelensky): containment decides, and it is low."""
    check(index, seed(0), "seed0")
    story = opening(seed(0).body, 0.0, least=70) + "\n\n" + seed(3).body
    assert check(index, Article(body=story), "other").status == "unique"


def test_dedupe_same_topic_story_carrying_a_seeds_opening_paragraph_stays_unique(index: DedupIndex) -> None:
    """Seed 2 with seed 1's first paragraph as background after its own opening: their leads
    overlap, their stories do not (the dedup benchmark's hard negatives, on the seeds)."""
    check(index, seed(1), "seed1")
    first, *rest = seed(2).body.split("\n\n")
    story = "\n\n".join([first, seed(1).body.split("\n\n")[0], *rest])
    assert check(index, Article(body=story), "background").status == "unique"

"""The story index against a real Redis: opening and joining stories, the window, copies,
retries. Articles go through the real parse, normalise and (fast) enrich stages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import redis

from worker.pipeline.enrich import enrich
from worker.pipeline.normalise import normalise
from worker.pipeline.parse import parse
from worker.pipeline.stories import StoryIndex, StoryVector, similarity, story_vector
from worker.settings import Settings

from .conftest import DATA, SEEDS

CALL = datetime(2025, 7, 4, 15, 11, tzinfo=timezone.utc)  # seed 003's publication time
DAY = timedelta(days=1)


def vector(path) -> StoryVector:
    [doc] = parse(path.read_bytes(), path.name, max_decompressed_bytes=10**7)
    art = normalise(doc)
    return story_vector(art, enrich(art, "fast"))


CALL_003 = vector(SEEDS[3])
CALL_OTHER_OUTLET = vector(DATA / "stories" / "003_call_other_outlet.txt")
RAMSTEIN_004 = vector(SEEDS[4])
HARBOUR = vector(DATA / "html" / "news_article.html")


@pytest.fixture
def index(redis_client: redis.Redis) -> StoryIndex:
    return StoryIndex.from_settings(redis_client, Settings())


def test_an_article_opens_a_story_named_by_its_record_id(index: StoryIndex) -> None:
    story = index.assign(CALL_003, "rec003", published=CALL)
    assert (story.id, story.size, story.similarity) == ("rec003", 1, 1.0)
    assert (story.first_seen.id, story.first_seen.at) == ("rec003", CALL)


def test_another_outlets_report_a_day_later_joins_the_story(index: StoryIndex) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    story = index.assign(CALL_OTHER_OUTLET, "other", published=CALL + DAY)
    assert (story.id, story.size, story.first_seen.id) == ("rec003", 2, "rec003")
    assert index.threshold <= story.similarity < 1


def test_an_unrelated_article_the_same_day_opens_its_own_story(index: StoryIndex) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    assert index.assign(HARBOUR, "harbour", published=CALL).id == "harbour"


def test_a_report_more_than_a_window_after_the_story_opens_a_new_one(index: StoryIndex) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    late = CALL + timedelta(seconds=index.window) + DAY
    assert index.assign(CALL_OTHER_OUTLET, "other", published=late).id == "other"


def test_a_report_published_before_the_story_joins_it_within_the_window(index: StoryIndex) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    assert index.assign(CALL_OTHER_OUTLET, "other", published=CALL - DAY).id == "rec003"


def test_the_time_decay_lowers_the_similarity_of_a_later_report(index: StoryIndex, redis_client: redis.Redis) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    same_day = index.assign(CALL_OTHER_OUTLET, "other", published=CALL).similarity
    redis_client.flushdb()
    index.assign(CALL_003, "rec003", published=CALL)
    days_later = index.assign(CALL_OTHER_OUTLET, "other", published=CALL + 3 * DAY).similarity
    assert days_later < same_day


def test_a_copy_joins_its_originals_story_whatever_its_words(index: StoryIndex) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    story = index.assign(HARBOUR, "copy", published=CALL, duplicate_of="rec003")
    assert (story.id, story.size) == ("rec003", 2)


def test_a_copy_handled_before_its_original_takes_the_original_into_its_story(index: StoryIndex) -> None:
    copy = index.assign(CALL_003, "copy", published=CALL, duplicate_of="original")
    original = index.assign(HARBOUR, "original", published=CALL)
    assert original.id == copy.id == "copy"
    assert original.size == 2


def test_assigning_a_record_again_gives_the_same_answer_and_counts_it_once(index: StoryIndex) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    first = index.assign(CALL_OTHER_OUTLET, "other", published=CALL + DAY)
    again = index.assign(CALL_OTHER_OUTLET, "other", published=CALL + DAY)
    assert again == first
    assert index.members("rec003") == ["rec003", "other"]


def test_members_of_an_unknown_story_are_none(index: StoryIndex) -> None:
    assert index.members("nosuchstory") == []


def test_every_key_of_the_index_expires_within_one_window(index: StoryIndex, redis_client: redis.Redis) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    index.assign(CALL_OTHER_OUTLET, "other", published=CALL + DAY)
    keys = [k for k in redis_client.scan_iter(match=f"{index.prefix}:*") if not k.endswith(b":next")]
    assert keys and all(0 < redis_client.ttl(k) <= index.window for k in keys)


def test_first_seen_stays_the_article_that_opened_the_story_when_an_earlier_one_joins(index: StoryIndex) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    story = index.assign(CALL_OTHER_OUTLET, "other", published=CALL - DAY)
    assert (story.first_seen.id, story.first_seen.at) == ("rec003", CALL)


def test_a_story_is_one_string_of_its_head_id_and_centroids_at_six_bytes_a_term(
    index: StoryIndex, redis_client: redis.Redis
) -> None:
    for number, path in enumerate([SEEDS[3], DATA / "stories" / "003_call_other_outlet.txt", *SEEDS[:3]]):
        index.assign(vector(path), f"rec{number}", published=CALL)
    limit = 27 + len("rec0") + 6 * (index.config.centroid_terms + index.config.lead_centroid_terms)
    stories = [k for k in redis_client.scan_iter(match=f"{index.prefix}:s:*")]
    assert stories and all(redis_client.type(k) == b"string" for k in stories)
    assert all(redis_client.strlen(k) <= limit for k in stories)
    assert max(redis_client.strlen(k) for k in stories) == limit  # the merged story is full


def test_a_story_of_one_article_scores_a_report_as_the_vectors_similarity(index: StoryIndex) -> None:
    index.assign(CALL_003, "rec003", published=CALL)
    story = index.assign(CALL_OTHER_OUTLET, "other", published=CALL)
    assert story.similarity == pytest.approx(similarity(CALL_OTHER_OUTLET, CALL_003), abs=1e-3)

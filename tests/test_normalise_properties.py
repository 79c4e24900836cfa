"""Properties of parse + normalise, checked on generated drops (hypothesis): normalising twice
changes nothing, the body never holds text the input did not, and arbitrary bytes never raise
out of the pipeline: they give records or clear failure records."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from worker import pipeline
from worker.errors import BadInput
from worker.models import Document, FailureRecord, Record, SourceFile
from worker.pipeline.dedupe import DedupIndex
from worker.pipeline.normalise import normalise
from worker.pipeline.parse import parse
from worker.pipeline.normalise.text import clean_text
from worker.settings import Settings

from .conftest import SEEDS

# Real lines to build drops from: every seed line, and furniture of the kinds drops carry.
SEED_LINES = [line for seed in SEEDS for line in seed.read_text("utf-8").split("\n")]
FURNITURE = [
    " date 2026-01-16 Sign up now: Get ST's newsletters delivered to your inbox", "WORLD",
    "Listen to This Article", "Advertisement", "Reuters KYIV", "By Jane Doe and John Roe",
    "Last Updated : Jul 04 2025 | 8:41 PM IST", "June 25, 2025", "Share this article",
    "Related stories", "(Reporting by Tom Balmforth in Kyiv; Editing by Peter Graff)",
    "KYIV, Jan 16 (Reuters) - Talks resumed on Friday.", "Photo: Getty Images", "REUTERS",
    "Kyiv (AP) — ", "# Heading", "**bold** and [a link](https://example.com)", "\u00a0\u200b\u00ad",
]
line = st.one_of(st.sampled_from(SEED_LINES), st.sampled_from(FURNITURE), st.text(max_size=80))
drop = st.lists(line, min_size=1, max_size=30).map("\n".join)
fmt = st.sampled_from(["txt", "md", "json", "html"])


def _try_normalise(doc: Document):
    try:
        return normalise(doc)
    except BadInput:
        return None


def _squash(text: str) -> str:
    return " ".join(text.split())


# Found by this test: a quote paragraph above a dateline paragraph, in a record that already
# has its standfirst, was taken for a second standfirst.
_QUOTE_ABOVE_DATELINE = (
    "Zelensky 'counting on' more US air defense missiles, security guarantees following meeting with Trump at Davos\n"
    "Ukraine is banking on more anti-ballistic air defense missiles from the U.S. following a \"positive\" "
    "meeting with U.S. President Donald Trump at the World Economic Forum in Davos, President Volodymyr "
    "Zelensky said on Jan. 23.\n"
    "Reuters KYIV\n"
    "Zelensky 'counting on' more US air defense missiles, security guarantees following meeting with Trump at Davos\n"
    "Zelensky 'counting on' more US air defense missiles, security guarantees following meeting with Trump at Davos\n"
    "\"What did Davos bring to Ukraine? Above all, let's be fair: An important meeting with the United States "
    "of America. With all due respect to other leaders,\" Zelensky told reporters.\n"
    "KYIV, Jan 16 (Reuters) - Talks resumed on Friday."
)


@settings(max_examples=300, deadline=None)
@given(text=drop, fmt=fmt)
@example(text=_QUOTE_ABOVE_DATELINE, fmt="txt")
def test_normalising_the_result_again_changes_nothing(text: str, fmt: str) -> None:
    """An article we wrote, dropped back in as a record (title, standfirst, body), comes out the
    same: nothing more is taken from a clean body."""
    first = _try_normalise(Document(text=text, format=fmt, encoding="utf-8"))
    if first is None:
        return
    again = normalise(Document(text=first.body, format="json", encoding="utf-8",
                               title=first.title, subtitle=first.subtitle))
    assert (again.body, again.title, again.subtitle) == (first.body, first.title, first.subtitle)
    assert again.boilerplate == []


@settings(max_examples=300, deadline=None)
@given(text=drop, fmt=st.sampled_from(["txt", "md", "json"]))
@example(text="*0*0", fmt="md")  # found by this test
def test_body_holds_only_text_that_was_in_the_input(text: str, fmt: str) -> None:
    article = _try_normalise(Document(text=text, format=fmt, encoding="utf-8"))
    if article is None:
        return
    source = _squash(clean_text(text))
    if fmt == "md":  # markup (underscores too) goes, words stay; '*0*0' reads '00'
        words = re.compile(r"[^\W_]+")
        unmarked = re.sub(r"[*_~`]", "", source)
        assert set(words.findall(article.body)) <= set(words.findall(source)) | set(words.findall(unmarked))
        return
    for paragraph in article.body.split("\n\n"):
        assert _squash(paragraph) in source


@settings(max_examples=300, deadline=None)
@given(text=drop)
def test_every_non_blank_input_line_is_in_the_body_or_the_audit_or_the_metadata(text: str) -> None:
    article = _try_normalise(Document(text=text, format="txt", encoding="utf-8"))
    if article is None:
        return
    kept = _squash(" ".join([article.body, *article.boilerplate, article.title or "",
                              article.subtitle or ""]))
    for number, line in enumerate(clean_text(text).split("\n")):
        if number == 0:  # a scraper's date header is recorded as published_at, not as text
            line = re.sub(r"^date\s+\d{4}-\d\d-\d\d", "", line, flags=re.IGNORECASE)
        assert all(w in kept for w in re.findall(r"\w+", line)), line


@pytest.fixture(scope="module")
def index(redis_server) -> DedupIndex:
    client = redis.Redis.from_url(redis_server.url)
    return DedupIndex(client, ttl=3600, prefix="test:properties")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=4096),
    st.binary(max_size=512).map(lambda b: b"\x1f\x8b" + b),
    drop.map(lambda t: t.encode("utf-16")),
    drop.map(lambda t: t.encode("utf-8", "replace")),
    st.builds(lambda t: ('{"title": "x", "text": %s}' % t).encode(), st.text(max_size=60)),
), name=st.sampled_from(["a.txt", "a.html", "a.json", "a.jsonl", "a.md", "a.txt.gz", "noext"]))
def test_arbitrary_bytes_give_records_or_clear_failures_never_an_exception(
        data: bytes, name: str, index: DedupIndex) -> None:
    source = SourceFile(name=name, path=name, sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data), received_at=datetime.now(timezone.utc))
    outcomes = pipeline.run(source, data, index, Settings(enrich="off"))
    assert outcomes
    for outcome in outcomes:
        assert isinstance(outcome, (Record, FailureRecord))
        if isinstance(outcome, FailureRecord):
            assert outcome.error.type != "internal_error"
            assert outcome.error.message and "\n" not in outcome.error.message


def test_parse_of_a_seed_gives_one_document() -> None:
    assert len(parse(SEEDS[0].read_bytes(), SEEDS[0].name, max_decompressed_bytes=1 << 26)) == 1

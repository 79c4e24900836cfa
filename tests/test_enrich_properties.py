"""Enrich stage, properties that hold for any text (the `fast` level: no model, so quick)."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.models import Article
from worker.pipeline.enrich import enrich

WORDS = st.sampled_from(
    ["Ukraine", "U.S.", "the", "said", '"', "Zelensky", "$5", "million", "Jan.", "23", ",", ".",
     "\n", "Kiev", "NATO", "he", "told", "reporters", "1,200", "casualties", "on", "Friday", "£3bn"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, max_size=60), st.text(max_size=40))
def test_every_offset_points_into_the_body(words: list[str], noise: str):
    body = " ".join(words) + noise
    published = datetime(2026, 1, 23, tzinfo=timezone.utc)
    enrichment = enrich(Article(body=body, published_at=published), "fast")
    entities = enrichment.entities
    for entity in entities.persons + entities.organizations + entities.locations + entities.other:
        for start, end in entity.offsets:
            assert 0 <= start < end <= len(body) and body[start:end] in entity.surface_forms
    for amount in enrichment.amounts:
        assert body[amount.offset[0]:amount.offset[1]] == amount.text
    for mention in enrichment.dates:
        assert body[mention.offset[0]:mention.offset[1]] == mention.text
    for quote in enrichment.quotes:
        assert quote.text in body[quote.offset[0]:quote.offset[1]]

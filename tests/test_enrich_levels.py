"""Enrich stage, switches: full | fast | off, and the record says which ran."""

from __future__ import annotations

from pathlib import Path

from worker.models import Article
from worker.pipeline.enrich import enrich
from worker.pipeline.enrich.keywords import keywords
from worker.pipeline.enrich.tone import tone

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seed(prefix: str) -> Article:
    return Article(body=next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8"))


def test_off_does_nothing_and_says_so():
    enrichment = enrich(seed("000"), "off")
    assert enrichment.level == "off"
    assert enrichment.entities.persons == [] and enrichment.quotes == [] and enrichment.tone is None


def test_fast_gives_places_quotes_amounts_but_no_persons():
    enrichment = enrich(seed("004"), "fast")
    assert enrichment.level == "fast"
    assert enrichment.entities.persons == []
    names = {loc.name: loc for loc in enrichment.entities.locations}
    assert names["Ukraine"].country_code == "UA" and names["United States"].country_code == "US"
    assert [a.text for a in enrichment.amounts if a.kind == "money"] == ["$500 million", "$3.85 billion", "$66 billion"]
    assert enrichment.summary and enrichment.keywords and enrichment.tone is not None


def test_full_says_full_and_finds_persons():
    enrichment = enrich(seed("004"), "full")
    assert enrichment.level == "full"
    assert "Lloyd Austin" in [p.name for p in enrichment.entities.persons]


def test_summary_is_the_lead():
    article = seed("004")
    summary = enrich(article, "fast").summary
    assert summary.startswith("Ukrainian President Volodymyr Zelenskyy and U.S. Defense Secretary")
    assert summary.count(". ") + 1 <= 3 and article.body.startswith(summary[:200])


def test_keywords_come_from_the_text_and_skip_stopwords():
    body = seed("004").body
    words = keywords(body)
    assert 0 < len(words) <= 10
    assert all(w.lower() in body.lower() for w in words)
    assert not {"the", "and", "said"} & {w.lower() for w in words}


def test_tone_follows_the_words():
    assert tone("The talks were a great success and everyone was happy.").score > 0.3
    assert tone("The attack was a deadly disaster and people were killed.").score < -0.3
    neutral = tone("The committee met on Tuesday in the capital.")
    assert neutral.score == 0 and neutral.neutral == 1.0


def test_fast_never_touches_the_ner_model():
    from worker.pipeline.enrich.nlp import load_model

    calls = load_model.cache_info()
    enrich(seed("000"), "fast")
    after = load_model.cache_info()
    assert (after.hits + after.misses) == (calls.hits + calls.misses)


def test_full_level_falls_back_to_fast_for_articles_not_in_english() -> None:
    from worker.pipeline import enrich_level

    assert enrich_level("full", "de") == "fast"
    assert enrich_level("full", "en") == "full"
    assert enrich_level("full", None) == "full"
    assert enrich_level("off", "de") == "off"

"""Enrich stage, quotations: direct quotes with the canonical name of who said them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from worker.models import Article, Enrichment
from worker.pipeline.enrich import enrich

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@lru_cache(maxsize=None)
def full(prefix: str) -> Enrichment:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return enrich(Article(body=path.read_text(encoding="utf-8")), "full")


def speaker_of(enrichment: Enrichment, fragment: str) -> str | None:
    matches = [q for q in enrichment.quotes if fragment in q.text]
    assert len(matches) == 1, f"{fragment!r} in {[q.text for q in enrichment.quotes]}"
    return matches[0].speaker


def test_nothing_else_works_is_zelenskys():
    assert speaker_of(full("000"), "Nothing else works") == "Volodymyr Zelensky"


def test_quote_then_name_said():
    assert speaker_of(full("000"), "We actually had a positive meeting") == "Volodymyr Zelensky"


def test_quote_then_said_name():
    assert speaker_of(full("002"), "I think it's a great time to end it") == "Donald Trump"


def test_he_told_reporters_is_the_last_named_speaker():
    assert speaker_of(full("001"), "We need to fight for these (aid) packages") == "Volodymyr Zelensky"


def test_quoted_phrase_in_reported_speech_is_the_subjects():
    assert speaker_of(full("002"), "to see if we can make some available") == "Donald Trump"


def test_pronoun_reporting_a_phrase_is_the_last_narrated_speaker():
    # '... Zelenskyy said on social media on Wednesday.\n\nHe added that Kiev was "ready to buy ..."'
    assert speaker_of(full("002"), "ready to buy this equipment") == "Volodymyr Zelensky"


def test_described_as_quote_is_the_describers():
    assert speaker_of(full("002"), "more difficult than people would have any idea") == "Donald Trump"


def test_name_said_colon_then_quote():
    body = "President Volodymyr Zelensky met Donald Trump.\nZelensky said: \"Nothing else works.\""
    quotes = enrich(Article(body=body), "full").quotes
    assert [(q.text, q.speaker) for q in quotes] == [("Nothing else works.", "Volodymyr Zelensky")]


def test_second_quote_after_attribution_continues_the_speaker():
    assert speaker_of(full("000"), "I think that the U.S.A. will return") == "Volodymyr Zelensky"


def test_scare_quotes_are_not_quotations():
    texts = [q.text for q in full("000").quotes]
    assert "positive" not in texts and "Coalition of the Willing," not in texts


def test_quote_offsets_cover_the_quoted_text():
    body = (SEEDS / next(p.name for p in SEEDS.glob("000_*.txt"))).read_text(encoding="utf-8")
    for quote in full("000").quotes:
        start, end = quote.offset
        assert quote.text in body[start:end]


def test_fast_level_names_speakers_without_the_model():
    path = next(SEEDS.glob("000_*.txt"))
    quotes = enrich(Article(body=path.read_text(encoding="utf-8")), "fast").quotes
    assert [q.speaker for q in quotes if "Nothing else works" in q.text] == ["Volodymyr Zelensky"]


def test_pronoun_reporting_a_phrase_is_the_person_the_paragraph_is_about():
    body = (
        "Kurt Volker said he had no knowledge of any efforts to urge Ukraine to investigate.\n\n"
        "Tim Morrison was the third witness on Tuesday who listened in on the call. He said he was "
        "not concerned about its content, but worried there would be \"political consequences\" "
        "if more people read the summary."
    )
    quotes = enrich(Article(body=body), "full").quotes
    assert [(q.text, q.speaker) for q in quotes] == [("political consequences", "Tim Morrison")]


def test_a_quoted_title_in_narration_is_not_a_quotation():
    body = "Eric Roberge and his wife Kali explained it on an episode of their podcast \"Beyond Finances.\""
    assert enrich(Article(body=body), "full").quotes == []


def _quotes(body: str) -> list[tuple[str, str | None]]:
    return [(q.text, q.speaker) for q in enrich(Article(body=body), "full").quotes]


def test_speaker_with_a_description_or_an_apposition_is_named():
    body = (
        "Diego Schwartzman, the Argentine tennis player, beat Cristian Garin as Tim Morrison watched.\n\n"
        "\"I think I played one of the best matches of the year,\" the 14th-ranked Schwartzman said.\n\n"
        "\"I would have expected to be notified about it,\" Morrison, the council's senior director, said."
    )
    assert [s for _, s in _quotes(body)] == ["Diego Schwartzman", "Tim Morrison"]


def test_unattributed_quote_opening_the_next_paragraph_continues_the_speaker():
    body = (
        "\"We worked on adjusting the architecture of the spacecraft and its logistics,\" says Robin "
        "Biesbroek of the design facility.\n\n"
        "\"We looked at how a team could be put into hibernation, and what to do in emergencies.\""
    )
    assert [s for _, s in _quotes(body)] == ["Robin Biesbroek", "Robin Biesbroek"]


def test_quote_of_several_paragraphs_is_one_quote_per_paragraph_with_one_speaker():
    body = (
        "Jennifer Ngo-Anh leads the team. \"For a while now hibernation has been proposed as a tool "
        "for human space travel,\" explains Jennifer Ngo-Anh. \"If we were able to reduce the "
        "metabolic rate by 75 percent, we would save a lot of mass.\n\n"
        "\"And the basic idea of putting astronauts into hibernation is not so far-fetched.\""
    )
    assert [s for _, s in _quotes(body)] == ["Jennifer Ngo-Anh"] * 3


def test_apposition_may_hold_commas():
    body = (
        "\"Liquid water is somewhat hard to find beyond Earth,\" study lead author Lucas Paganini, a "
        "planetary scientist at NASA's Goddard Space Flight Center in Greenbelt, Maryland, said in a "
        "statement.\n\n"
        "On Monday, Sonya Zoghlin, the lawyer for Patrick Carlineo of Syracuse, New York, said that he "
        "never meant to \"cause harm to anyone at all\" with the call."
    )
    assert _quotes(body) == [
        ("Liquid water is somewhat hard to find beyond Earth", "Lucas Paganini"),
        ("cause harm to anyone at all", "Sonya Zoghlin"),
    ]

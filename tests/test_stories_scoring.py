"""Story vectors and their similarity: pure functions, real seeds, no Redis."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from worker.models import Article, Enrichment
from worker.pipeline.enrich import enrich
from worker.pipeline.normalise import normalise
from worker.pipeline.parse import parse
from worker.pipeline.stories import CONFIG_FILE, StoryConfig, body_weights, load_config, similarity, story_vector, term_id
from worker.pipeline.stories.terms import entries, idf_table, words

from .conftest import DATA, SEEDS

PARAPHRASE_003 = DATA / "stories" / "003_call_other_outlet.txt"


def article(path) -> Article:
    [doc] = parse(path.read_bytes(), path.name, max_decompressed_bytes=10**7)
    return normalise(doc)


def vector(path, level: str = "fast"):
    art = article(path)
    return story_vector(art, enrich(art, level))


def test_rare_words_weigh_more_than_common_ones() -> None:
    idf, floor = idf_table()
    assert idf["the"] < idf["president"] < idf["missiles"] < idf.get("zelenskyy", floor)


def test_an_unknown_word_gets_the_floor_idf_the_table_never_exceeds() -> None:
    idf, floor = idf_table()
    assert "qwxzyvk" not in idf and max(idf.values()) <= floor


def test_stopwords_month_names_and_possessives_are_not_story_terms() -> None:
    assert words("The President's visit in January, he said") == ["", "president", "visit", "", "", "", ""]


def test_a_words_plural_and_ing_ed_ian_forms_are_one_story_term() -> None:
    # seed 000 and its topic's reports: "missiles"/"missile", "meeting"/"meet", "Ukrainian"/"Ukraine"'s
    # "-ian" form, "floods"/"flooding"/"flooded" (the pairs' Jakarta reports)
    assert words("missiles missile") == ["missile", "missile"]
    assert words("floods flooding flooded") == ["flood", "flood", "flood"]
    assert words("Australian Australia bushfires") == ["australia", "australia", "bushfire"]
    assert words("parties crisis status glass boxes") == ["party", "crisis", "status", "glass", "box"]


def test_rarity_stops_counting_at_the_cap_so_a_made_up_word_weighs_as_a_rare_name() -> None:
    cap = load_config().idf_cap
    idf, floor = idf_table()
    assert floor > cap  # without the cap, an unknown word would outweigh every word in the table
    assert idf["kyiv"] > cap > idf["president"]
    [(_, unknown), (_, rare), (_, common)] = entries("qwxzyvk Kyiv president", cap)
    assert unknown == rare == cap > common == idf["president"]


def test_a_word_in_the_headline_weighs_more_than_the_same_word_deep_in_the_body() -> None:
    filler = " ".join(["harbour dredging contract"] * 60)
    early, _ = body_weights(f"Volcano erupts\n{filler}", load_config())
    late, _ = body_weights(f"{filler}\nvolcano erupts", load_config())
    assert early[term_id("volcano")] > late[term_id("volcano")]


def test_without_enrichment_the_vector_is_body_words_alone_and_says_so() -> None:
    art = article(SEEDS[3])
    assert story_vector(art, Enrichment(level="off")).basis == ["body"]


def test_the_vector_is_the_same_at_every_enrichment_level_so_backfills_join_the_same_stories() -> None:
    art = article(SEEDS[3])
    full = story_vector(art, enrich(art, "full"))
    assert full == story_vector(art, enrich(art, "fast")) == story_vector(art, Enrichment(level="off"))


def test_a_vector_keeps_its_body_terms_and_anchors_its_strongest_terms() -> None:
    config = load_config()
    v = vector(SEEDS[0])
    assert len(v.terms) == config.body_terms
    assert v.anchors == list(v.terms)[: config.anchors]


def test_a_vector_has_unit_length_and_its_strongest_terms_first() -> None:
    weights = list(vector(SEEDS[0]).terms.values())
    assert sum(w * w for w in weights) == pytest.approx(1.0)
    assert weights == sorted(weights, reverse=True)


def test_another_outlets_report_of_the_call_is_closest_to_seed_003_of_all_seeds() -> None:
    para = vector(PARAPHRASE_003)
    scores = {seed.name[:3]: similarity(para, vector(seed)) for seed in SEEDS}
    assert max(scores, key=scores.get) == "003"


def test_an_unrelated_article_scores_below_the_story_threshold() -> None:
    from worker.settings import Settings

    html = DATA / "html" / "news_article.html"
    [doc] = parse(html.read_bytes(), html.name, max_decompressed_bytes=10**7)
    other = normalise(doc)
    assert similarity(vector(SEEDS[3]), story_vector(other, enrich(other, "fast"))) < Settings().story_threshold


def test_the_config_file_is_validated() -> None:
    raw = yaml.safe_load(CONFIG_FILE.read_text())
    with pytest.raises(ValidationError):
        StoryConfig.model_validate({**raw, "anchor": raw["anchors"]})
    with pytest.raises(ValidationError):
        StoryConfig.model_validate({**raw, "body_terms": 0})


# An outlet's closing paragraph, the same under every report it publishes.
OUTLET_TAIL = (
    "The Kyiv Independent is an English-language media outlet founded by journalists who were fired from the Kyiv "
    "Post. It is funded by its readers and grants. Russia launched its full-scale invasion of Ukraine in February "
    "2022. Since then, the Kyiv Independent has covered the war from the front lines, reporting on Russian attacks "
    "on Ukrainian cities, Ukraine's counteroffensives, and Western military aid to Ukraine, including air defense "
    "systems, Patriot missiles and ATACMS. Support independent journalism in Ukraine: become a member of the Kyiv "
    "Independent community."
)


def test_an_outlets_shared_closing_paragraph_does_not_make_two_of_its_reports_one_story() -> None:
    from worker.settings import Settings

    def with_tail(text):
        [doc] = parse(f"{text}\n{OUTLET_TAIL}".encode(), "report.txt", max_decompressed_bytes=10**7)
        return story_vector(normalise(doc), Enrichment(level="off"))

    # an outlet's report of a Zelensky call (seed 001) and its report of a harbour town's vote
    harbour = article(DATA / "html" / "news_article.html")
    call, vote = with_tail(SEEDS[1].read_text(encoding="utf-8")), with_tail(f"{harbour.title}\n\n{harbour.body}")
    assert term_id("kyiv") in vote.terms  # the tail is in the vote's words
    assert similarity(call, vote) < Settings().story_threshold

"""Normalise stage, one convention at a time: datelines, wire credits, bylines, date lines,
boilerplate rules (built-in and a user's), character cleaning."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from worker.errors import BadInput
from worker.models import Article, Document
from worker.pipeline.normalise import normalise
from worker.pipeline.normalise.rules import load_rules

LEAD = ("Ukraine's foreign minister said on Tuesday that talks on security guarantees would "
        "resume next week in Geneva, after a pause of almost a month.")
MORE = ("Officials from both sides have met several times since the spring, and a draft text "
        "is said to be close to final, according to two people familiar with it.")


def _article(text: str, **fields) -> Article:
    return normalise(Document(text=text, format=fields.pop("format", "txt"), encoding="utf-8", **fields))


@pytest.mark.parametrize(
    ("opening", "dateline", "agencies"),
    [
        ("KYIV, Jan 16 (Reuters) - ", "KYIV", ["Reuters"]),
        ("WASHINGTON (AP) — ", "WASHINGTON", ["AP"]),
        ("Kyiv (AFP) - ", "Kyiv", ["AFP"]),
        ("NEW DELHI: ", "NEW DELHI", []),
        ("BEIRUT, Lebanon (AP) -- ", "BEIRUT", ["AP"]),
        ("KYIV – ", "KYIV", []),
    ],
)
def test_dateline_and_its_agency_come_from_the_first_paragraph(opening, dateline, agencies) -> None:
    article = _article(f"Talks to resume\n\n{opening}{LEAD}\n\n{MORE}")
    assert (article.dateline, article.agencies) == (dateline, agencies)
    assert article.body.startswith(opening.strip())


def test_a_capitalised_word_before_a_dash_without_a_credit_is_no_dateline() -> None:
    article = _article(f"Talks to resume\n\nGeneva - the city hosts the talks. {LEAD}\n\n{MORE}")
    assert article.dateline is None


def test_closing_wire_credit_names_the_agency_and_leaves_the_body() -> None:
    article = _article(f"Talks to resume\n\n{LEAD}\n\n{MORE} - AFP")
    assert article.agencies == ["AFP"]
    assert article.body.endswith("familiar with it.")
    assert article.boilerplate == ["- AFP"]


def test_an_agency_named_in_a_sentence_is_not_a_credit() -> None:
    article = _article(f"Talks to resume\n\n{LEAD}\n\nThe plan was first reported by Reuters.")
    assert article.agencies == []
    assert article.body.endswith("first reported by Reuters.")


def test_inputs_from_agencies_line_is_a_credit() -> None:
    article = _article(f"Talks to resume\n\n{LEAD}\n\n{MORE}\n\n(With inputs from PTI and Reuters)")
    assert article.agencies == ["PTI", "Reuters"]
    assert "inputs" not in article.body


def test_byline_gives_authors_and_leaves_the_body() -> None:
    article = _article(f"Talks to resume\n\nBy Olena Harmash and Tom Balmforth\n\n{LEAD}\n\n{MORE}")
    assert article.authors == ["Olena Harmash", "Tom Balmforth"]
    assert article.body.startswith("Ukraine's foreign minister")


def test_byline_naming_an_agency_gives_the_agency() -> None:
    article = _article(f"Talks to resume\n\nBy Reuters\n\n{LEAD}\n\n{MORE}")
    assert (article.authors, article.agencies) == ([], ["Reuters"])


def test_wire_trailer_names_the_reporters_and_leaves_the_body() -> None:
    trailer = "(Reporting by Tom Balmforth in Kyiv; Editing by Peter Graff)"
    article = _article(f"Talks to resume\n\n{LEAD}\n\n{MORE}\n\n{LEAD}\n\n{trailer}")
    assert article.authors == ["Tom Balmforth"]
    assert trailer in article.boilerplate and "Editing" not in article.body


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Last Updated : Jul 04 2025 | 8:41 PM IST", datetime(2025, 7, 4, 20, 41, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
        ("Published: 12 March 2024 10:31 GMT", datetime(2024, 3, 12, 10, 31, tzinfo=timezone.utc)),
        ("June 25, 2025", datetime(2025, 6, 25, tzinfo=timezone.utc)),
        ("Posted on March 4, 2024 at 3:15 p.m. ET", datetime(2024, 3, 4, 15, 15, tzinfo=timezone(timedelta(hours=-5)))),
        ("Updated 2024-11-05 08:00 CET", datetime(2024, 11, 5, 8, 0, tzinfo=timezone(timedelta(hours=1)))),
    ],
)
def test_date_line_under_the_headline_gives_published_at(line: str, expected: datetime) -> None:
    article = _article(f"Talks to resume\n\n{line}\n\n{LEAD}\n\n{MORE}")
    assert article.published_at == expected
    assert line in article.boilerplate


def test_published_line_wins_over_updated_line() -> None:
    text = (f"Talks to resume\n\nUpdated: Jul 05 2025 | 9:00 AM IST\n\n{LEAD}\n\n{MORE}\n\n"
            "First Published: Jul 04 2025 | 8:41 PM IST")
    assert _article(text).published_at.date().isoformat() == "2025-07-04"


def test_explicit_header_date_wins_over_an_in_text_date_of_another_day() -> None:
    article = _article(f" date 2025-01-02 \nTalks to resume\n\nJune 25, 2025\n\n{LEAD}\n\n{MORE}")
    assert article.published_at == datetime(2025, 1, 2, tzinfo=timezone.utc)


def test_metadata_date_wins_over_an_in_text_date_of_another_day() -> None:
    article = _article(f"Talks to resume\n\nJune 25, 2025\n\n{LEAD}\n\n{MORE}", published="2025-06-20T10:00:00Z")
    assert article.published_at == datetime(2025, 6, 20, 10, 0, tzinfo=timezone.utc)


def test_a_sentence_mentioning_a_date_is_not_a_date_line() -> None:
    article = _article(f"Talks to resume\n\n{LEAD}\n\nThe deal was signed on June 25, 2025, in Kyiv.\n\n{MORE}")
    assert article.published_at is None
    assert "June 25, 2025" in article.body


def test_advertisement_line_leaves_the_body_but_a_sentence_about_ads_stays() -> None:
    sentence = "The advertisement ran for a week before it was withdrawn."
    article = _article(f"Talks to resume\n\n{LEAD}\n\nAdvertisement\n\n{sentence}\n\n{MORE}")
    assert "Advertisement" in article.boilerplate
    assert sentence in article.body


def test_related_links_at_the_end_are_cut_off() -> None:
    tail = ["Related stories", "Russia launches record drone attack", "Germany weighs Patriot purchase"]
    article = _article("\n\n".join(["Talks to resume", LEAD, MORE, LEAD, MORE, *tail]))
    assert article.body.endswith("familiar with it.")
    assert article.boilerplate == tail


def test_user_rules_file_adds_a_publisher_pattern(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "lines:\n  - name: support_us\n    pattern: 'support independent journalism\\b.*'\n", "utf-8")
    prompt = "Support independent journalism: become a member today"
    text = f"Talks to resume\n\n{LEAD}\n\n{prompt}\n\n{MORE}"
    assert prompt in _article(text).body
    article = normalise(Document(text=text, format="txt", encoding="utf-8"), load_rules(rules_file))
    assert prompt not in article.body and prompt in article.boilerplate


def test_user_rules_file_with_a_bad_pattern_is_refused_with_its_name(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("lines:\n  - name: broken\n    pattern: '(unclosed'\n", "utf-8")
    with pytest.raises(ValueError, match="broken"):
        load_rules(rules_file)


def test_invisible_characters_and_odd_spaces_are_cleaned() -> None:
    article = _article(f"Talks\u00a0to resume\n\nUkraine\u2019s min\u00adister said\u200b it. {MORE}\r\n\r\n{LEAD}")
    assert article.title == "Talks to resume"
    assert article.body.startswith("Ukraine\u2019s minister said it.")


def test_article_made_only_of_furniture_is_bad_input() -> None:
    with pytest.raises(BadInput) as exc:
        _article("Advertisement\n\nListen to this article\n\nShare this article")
    assert exc.value.kind == "no_text"


def test_lede_copied_into_the_page_description_stays_in_the_body() -> None:
    """CMSs fill a page's meta description with its first paragraph: that is the lede, not a
    standfirst pasted twice, and a record without it loses its most important sentence."""
    article = _article(f"{LEAD}\n\n{MORE}", format="html", title="Talks to resume", subtitle=LEAD)
    assert article.body == f"{LEAD}\n\n{MORE}"
    assert article.subtitle == LEAD


def test_standfirst_that_reads_as_a_heading_is_not_repeated_in_the_body() -> None:
    dek = "Kyiv and Washington are close to a draft on security guarantees"
    article = _article(f"{dek}\n\n{LEAD}\n\n{MORE}", format="html", title="Talks to resume", subtitle=dek)
    assert article.body == f"{LEAD}\n\n{MORE}"
    assert article.subtitle == dek


def test_metadata_author_ending_with_an_agency_is_the_author_and_the_agency() -> None:
    article = _article(f"{LEAD}\n\n{MORE}", format="html", authors=["JILL LAWLESS Associated Press", "By Danica Kirka"])
    assert (article.authors, article.agencies) == (["Jill Lawless", "Danica Kirka"], ["AP"])


def test_capitalised_author_names_are_written_as_names() -> None:
    article = _article(f"{LEAD}\n\n{MORE}", format="html", authors=["JOHN O'NEILL", "Mary McDonald"])
    assert article.authors == ["John O'Neill", "Mary McDonald"]


def test_follow_our_coverage_trailer_leaves_the_body() -> None:
    trailer = "Follow AP's full coverage of Brexit and British politics at https://www.apnews.com/Brexit"
    article = _article(f"{LEAD}\n\n{MORE}\n\n{trailer}", format="html")
    assert article.body == f"{LEAD}\n\n{MORE}"
    assert trailer in article.boilerplate


@pytest.mark.parametrize(
    ("title", "site", "expected"),
    [
        ("The Guardian view on Hong Kong: a city on the brink | Editorial", "The Guardian",
         "The Guardian view on Hong Kong: a city on the brink"),
        ("Esper accuses China of intimidation - Houston Chronicle", "Houston Chronicle",
         "Esper accuses China of intimidation"),
        ("Meth - we're on it: South Dakota doubles down", "NJ.com", "Meth - we're on it: South Dakota doubles down"),
    ],
)
def test_page_title_loses_the_site_or_section_it_carries(title, site, expected) -> None:
    assert _article(f"{LEAD}\n\n{MORE}", format="html", title=title, site=site).title == expected


def test_role_desk_or_publisher_given_as_author_is_no_author() -> None:
    authors = ["Robert Burns", "AP National Security Writer", "NJ Advance Media", "Editorial"]
    article = _article(f"{LEAD}\n\n{MORE}", format="html", authors=authors)
    assert (article.authors, article.agencies) == (["Robert Burns"], ["AP"])


@pytest.mark.parametrize("given, expected", [
    (["Carrie Arnold November"], ["Carrie Arnold"]),  # "By Carrie Arnold November 18, 2019", its date cut
    (["Martin Edwards Aug"], ["Martin Edwards"]),
    (["Detroit News wire services Published"], []),
    (["Ilana Muhlstein", "MS", "RDN"], ["Ilana Muhlstein"]),  # "Ilana Muhlstein, MS, RDN"
    (["Sandee LaMotte", "CNN"], ["Sandee LaMotte"]),
    (["Admin"], []),  # the CMS account that published the page
    (["jdadmin"], []),
])
def test_an_author_field_keeps_the_persons_name_alone(given, expected) -> None:
    article = _article(f"{LEAD}\n\n{MORE}", format="html", authors=given)
    assert article.authors == expected


@pytest.mark.parametrize(
    "promo",
    [
        "Get Motor Cycle Monthly delivered through your letterbox every month. 12 issues for £11.99",
        "Get the day's big stories + fun stuff you love like mock drafts, picks and power rankings.",
        "Listen to Newsbeat live at 12:45 and 17:45 weekdays - or listen back here.",
        "Have an Amazon Alexa device? Now you can hear 10 Things in Tech each morning.",
    ],
)
def test_subscription_and_audio_promos_leave_the_body(promo: str) -> None:
    article = _article(f"{LEAD}\n\n{MORE}\n\n{promo}", format="html")
    assert article.body == f"{LEAD}\n\n{MORE}" and promo in article.boilerplate

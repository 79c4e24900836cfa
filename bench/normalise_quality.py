"""Plain-text normalisation quality and speed: real article bodies wrapped in real-world page chrome.

What the set is. The shared extraction benchmark (``/work/shared/data/extraction-benchmark``, 91
real news and blog pages with hand-marked article bodies, see ``/work/shared/data/README.md``)
gives us real article text. Plain-text drops (``.txt``) in the wild are not clean bodies: they are
page dumps (see ``seeds/``) with a scraper's ``date`` header, section labels, the headline
(sometimes twice), a standfirst, photo captions with credits, bylines, date lines in every format
a site can think of, "Listen to this article", ads and "Read more:" links in the middle of the
text, newsletter and app prompts, share bars, cookie notices, related-story lists, wire trailers
and copyright footers. This script builds one such drop per true body, deterministically (fixed
seed), from wrappers written from general knowledge of news sites and from the seeds' kinds --
deliberately *not* from the normaliser's rule files (``worker/pipeline/normalise/boilerplate.yaml``,
``normalise.py``, ``credits.py``), so the benchmark is not tuned to the rules it judges. The body
text itself is never changed: only its paragraph separation (blank lines or not, CRLF, a hard
wrap), its encoding (UTF-8, UTF-8 with BOM, cp1252, UTF-16 with BOM) and what surrounds it.

Why. The body F1 tells what normalisation removes and keeps (4-shingle metric of the extraction
benchmark, ``bench/shingle_metric.py``), against the naive baseline of keeping the whole text;
the planted headline and publication date (80% of drops carry one) tell whether the metadata is
found; undated drops tell how often a date is invented. Targets (issue): body F1 >= 0.97, date
right for >= 95% of dated drops, normalisation < 2 ms per 600-word article.

    .venv/bin/python bench/normalise_quality.py               # print the tables
    .venv/bin/python bench/normalise_quality.py --write       # also update BENCHMARKS.md
    .venv/bin/python bench/normalise_quality.py --dump DIR    # write drops + truth to read

Skips cleanly (exit 0) when the shared data is absent.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import require_extraction_data, table, write_section  # noqa: E402
from shingle_metric import aggregate, score  # noqa: E402

from worker.errors import BadInput  # noqa: E402
from worker.pipeline.normalise import normalise  # noqa: E402
from worker.pipeline.parse import parse  # noqa: E402
from worker.pipeline.normalise.rules import load_rules  # noqa: E402

SEED = 20240305
DATED_SHARE = 0.8
MAX_BYTES = 64 * 1024 * 1024
SPEED_RUNS = 5

# --------------------------------------------------------------------------------------------
# Vocabulary of the wrappers (general knowledge of news sites, and the seeds)
# --------------------------------------------------------------------------------------------

FIRST = ["Jane", "Michael", "Priya", "David", "Sarah", "Tom", "Aisha", "Carlos", "Emma", "Kenji",
         "Laura", "Ahmed", "Olga", "Peter", "Nia", "Rahul", "Sofia", "James", "Chloe", "Daniel"]
LAST = ["Smith", "O'Brien", "Nguyen", "Fernández", "Kowalski", "Mensah", "Sharma", "Johnson",
        "Rossi", "Müller", "Tanaka", "Brooks", "Ivanova", "Okafor", "Lee", "Martin", "Haddad"]
AGENCIES = ["Reuters", "Associated Press", "AFP", "Bloomberg", "PTI", "The Canadian Press"]
SECTIONS = ["WORLD", "World", "Politics", "BUSINESS", "Business | Markets", "Tech", "Technology",
            "SPORTS", "Sport", "Opinion", "Entertainment", "Science", "Health", "U.S.", "Local News",
            "Markets", "Lifestyle", "NEWS", "Europe", "Asia"]
BREADCRUMBS = ["Home > News > World", "Home / Sport / Tennis", "News » Business", "Home | Tech | Gadgets",
               "You are here: Home / Blog", "Home › Entertainment › Music"]
ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "Europe/Berlin",
         "America/Los_Angeles", "UTC", "Asia/Tokyo", "Australia/Sydney"]
CAPTIONS = [
    "A general view of the area on Tuesday.",
    "People walk past the company's headquarters in the city centre.",
    "The scene outside the building earlier this week.",
    "Officials speak to reporters after the meeting.",
    "File photo of the venue taken last year.",
    "Supporters gather before the event.",
    "The product on display at a launch event.",
    "Visitors look at the exhibition on its opening day.",
    "A handout image released by the company.",
    "Police officers stand guard near the site.",
]
STANDFIRSTS = [
    "Here is what we know so far.",
    "The latest on the story, and what it means for you.",
    "Officials said more details would be released in the coming days.",
    "Analysis: why it matters now, and what comes next.",
    "The move comes after weeks of speculation.",
]


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def caption(rng: random.Random) -> tuple[str, str]:
    """A photo caption with a credit in one of the usual shapes, and its kind."""
    text = rng.choice(CAPTIONS)
    who = person(rng)
    shapes = [
        ("ap", f"{text} (AP Photo/{who})"),
        ("ap", f"{text} (AP Photo/{who}, File)"),
        ("reuters", f"{text} REUTERS/{who}"),
        ("reuters", f"{text} REUTERS/{who}/File Photo"),
        ("pipe", f"{text} | Photo: {rng.choice(['X', 'Getty Images', 'PTI', 'Handout', who])}"),
        ("slash", f"{text} / {rng.choice(['Reuters', 'AFP', 'AP'])}"),
        ("image", f"Image: {rng.choice(['Getty Images', 'Shutterstock', 'Reuters', 'Supplied'])}"),
        ("getty", f"{text} (Photo by {who}/Getty Images)"),
        ("credit", f"{text} Credit: {who} for The Times"),
        ("picture", f"{text} Picture: PA"),
        ("afp", f"{text} AFP via Getty Images"),
        ("image", f"{text} Photograph: {who}/EPA"),
    ]
    kind, line = rng.choice(shapes)
    return f"caption_{kind}", line


def byline(rng: random.Random, agency: str | None) -> str:
    a, b = person(rng), person(rng)
    shapes = [f"By {a}", f"By {a} and {b}", f"Written by {a}", f"By {a.upper()}", f"{a}",
              f"By {a}, Senior Reporter", f"Author: {a}", f"{a} | Staff Writer", f"by {a}"]
    if agency:
        shapes += [f"By {a}, {agency}", f"By {a.upper()} {agency}", f"{a} | {agency}", f"{agency}",
                   f"By {agency} staff"]
    return rng.choice(shapes)


NEWSLETTER = [
    "Sign up for our daily newsletter to get the latest news delivered to your inbox.",
    "Sign up now: Get our newsletters delivered to your inbox",
    "Get the latest headlines straight to your inbox. Subscribe",
    "SUBSCRIBE TO OUR NEWSLETTER",
    "Enter your email address\nSign up\nThank you for signing up!",
    "Want more stories like this? Sign up for our free Morning Briefing.",
    "Subscribe for unlimited access. Already a subscriber? Log in",
]
ADS = ["Advertisement", "ADVERTISEMENT", "Story continues below advertisement", "Advertisement\nScroll to continue",
       "Continue reading the main story", "- Advertisement -", "AD"]
SHARE = ["Share this article", "Share\nTweet\nEmail", "Facebook Twitter LinkedIn WhatsApp Email",
         "Share on Facebook Share on Twitter Share via Email", "Copy link", "Share\nSave\nComment",
         "Print\nEmail\nShare", "SHARE"]
LISTEN = ["Listen to this article", "Listen to This Article", "Listen · 4:32 min", "Listen to article",
          "Audio version\nListen (5 min)"]
READ_TIME = ["4 min read", "5 min read", "Reading time: 3 minutes", "3 MIN READ"]
COOKIES = [
    "We use cookies to improve your experience on our site. By continuing to browse you agree to our use of cookies.\nAccept",
    "This website uses cookies. Manage preferences\nAccept all",
    "We care about your privacy. We and our partners use cookies to personalise content and ads.\nI agree",
]
APP = ["Download the app for the latest news", "Get the app\nOpen in app", "Read this story in our app",
       "Download our app for breaking news alerts"]
RELATED_HEAD = ["Related stories", "More from this section", "Recommended", "You may also like",
                "MOST READ", "Trending now", "Related Articles", "Read next"]
READ_MORE = ["Read more:", "Also read:", "READ MORE:", "RELATED:", "Also Read |", "See also:"]
TAGS = ["Topics: {a}, {b}", "Tags: {a} | {b}", "Filed under: {a}", "More on: {a}  {b}"]
COMMENTS = ["Comments (12)", "Join the conversation", "Show comments", "Leave a Reply\nCancel reply"]
TEXT_SIZE = ["Text size\nA\nA\nA", "Font size:", "Print this article"]


def copyright_line(rng: random.Random, year: int, site: str, agency: str | None) -> str:
    shapes = [f"© {year} {site}. All rights reserved.", f"Copyright {year} {site}",
              f"© Copyright {site} {year}", "All rights reserved.",
              f"Copyright © {year} {site}, Inc. All Rights Reserved."]
    if agency == "Associated Press":
        shapes.append(f"Copyright {year} The Associated Press. All rights reserved. This material may "
                      "not be published, broadcast, rewritten or redistributed without permission.")
    if agency == "Reuters":
        shapes.append(f"© {year} Reuters. All rights reserved.")
    return rng.choice(shapes)


FOOTER = ["Terms of Use | Privacy Policy | Contact Us", "About Us  Contact  Advertise  Careers",
          "Privacy Policy\nTerms of Service\nCookie Settings", "Back to top"]


def wire_trailer(rng: random.Random, agency: str | None) -> str:
    a, b, c = person(rng), person(rng), person(rng)
    shapes = [f"(Reporting by {a} in London; Editing by {b})",
              f"(Reporting by {a}; Additional reporting by {b}; Editing by {c})",
              f"Reporting by {a}; Editing by {b}",
              f"(Additional reporting by {a})",
              "Our Standards: The Thomson Reuters Trust Principles.",
              "— With files from The Canadian Press",
              f"Associated Press writer {a} contributed to this report.",
              f"(Writing by {a}; editing by {b})"]
    return rng.choice(shapes)


# --------------------------------------------------------------------------------------------
# Planted publication dates, printed in many real-world ways
# --------------------------------------------------------------------------------------------

@dataclass
class Planted:
    local: datetime            # aware, in the zone it is printed in
    has_time: bool             # a time (and zone) was printed: the instant must match too


def _h12(dt: datetime, dots: bool = False) -> str:
    h = dt.hour % 12 or 12
    ampm = ("a.m." if dt.hour < 12 else "p.m.") if dots else ("AM" if dt.hour < 12 else "PM")
    return f"{h}:{dt.minute:02d} {ampm}"


def _zone(dt: datetime, generic: bool = False) -> str:
    name = str(dt.tzinfo)
    if generic and name == "America/New_York":
        return "ET"
    if generic and name == "America/Los_Angeles":
        return "PT"
    return dt.tzname() or "UTC"


def _mon(dt: datetime, dot: bool = False) -> str:
    m = dt.strftime("%b")
    return m + "." if dot and m != "May" else m


# (kind, formatter(dt, updated) -> (lines placed near the top, lines placed at the end), has_time)
def date_formats() -> list[tuple[str, object, bool]]:
    def F(kind, top, has_time, end=None):
        return kind, (lambda d, u: ([top(d, u)] if top else [], [end(d, u)] if end else [])), has_time

    return [
        F("cnn", lambda d, u: f"Published {_h12(d)} {_zone(d)}, {d:%a} {d:%B} {d.day}, {d.year}", True),
        F("cnn_updated", lambda d, u: f"Updated {_h12(u)} {_zone(u)}, {u:%a} {u:%B} {u.day}, {u.year}\n"
          f"Published {_h12(d)} {_zone(d)}, {d:%a} {d:%B} {d.day}, {d.year}", True),
        F("long_us", lambda d, u: f"{d:%B} {d.day}, {d.year}", False),
        F("long_uk", lambda d, u: f"{d.day} {d:%B} {d.year}", False),
        F("weekday_us", lambda d, u: f"{d:%A}, {d:%B} {d.day}, {d.year}", False),
        F("weekday_uk", lambda d, u: f"{d:%A} {d.day} {d:%B} {d.year}", False),
        F("abbr_dot_time", lambda d, u: f"{_mon(d, True)} {d.day}, {d.year} {_h12(d, True)} {_zone(d, True)}", True),
        F("iso_date", lambda d, u: f"{d:%Y-%m-%d}", False),
        F("date_label", lambda d, u: f"Date: {d:%Y-%m-%d}", False),
        F("iso_ts", lambda d, u: d.isoformat(timespec="seconds"), True),
        F("guardian", lambda d, u: f"{d:%a} {d.day} {d:%b} {d.year} {d.hour:02d}.{d.minute:02d} {_zone(d)}", True),
        F("aljazeera", lambda d, u: f"Published On {d.day} {d:%b} {d.year}", False),
        F("posted", lambda d, u: f"Posted: {d:%b} {d.day}, {d.year} / {_h12(d)} {_zone(d)}", True),
        F("mail", lambda d, u: f"Published: {d.hour:02d}:{d.minute:02d} {_zone(d)}, {d.day} {d:%B} {d.year} | "
          f"Updated: {u.hour:02d}:{u.minute:02d} {_zone(u)}, {u.day} {u:%B} {u.year}", True),
        F("updated_published", lambda d, u: f"Updated: {u.day} {u:%B} {u.year} {u.hour:02d}:{u.minute:02d} {_zone(u)}\n"
          f"Published: {d.day} {d:%B} {d.year} {d.hour:02d}:{d.minute:02d} {_zone(d)}", True),
        F("bs_first_published", lambda d, u: f"Last Updated : {u:%b} {u:%d} {u.year} | {_h12(u)} {_zone(u)}", True,
          end=lambda d, u: f"First Published: {d:%b} {d:%d} {d.year} | {_h12(d)} {_zone(d)}"),
        F("at_time", lambda d, u: f"{d:%B} {d.day}, {d.year} at {_h12(d, True)} {_zone(d, True)}", True),
        F("comma_time", lambda d, u: f"{d:%B} {d.day}, {d.year}, {_h12(d)} {_zone(d, True)}", True),
        F("indian", lambda d, u: f"{d:%b} {d:%d}, {d.year}, {_h12(d)} {_zone(d)}", True),
        F("weekday_pipe_time", lambda d, u: f"{d:%A}, {d:%B} {d:%d}, {d.year} | {d:%I}:{d.minute:02d} {d:%p} {_zone(d)}", True),
        F("time_first", lambda d, u: f"{_h12(d)} {_zone(d, True)}, {d:%a} {d:%B} {d.day}, {d.year}", True),
        F("day_mon", lambda d, u: f"{d:%d} {d:%b} {d.year}, {d.hour:02d}:{d.minute:02d} {_zone(d)}", True),
    ]


DATE_FORMATS = date_formats()
BARE_DATES = {"long_us", "long_uk", "weekday_us", "weekday_uk", "iso_date"}   # may get a label
PUBLISHED_WORDS = ["", "Published ", "Published: ", "Posted on ", "PUBLISHED: ", "First published on "]


# --------------------------------------------------------------------------------------------
# Building the drops
# --------------------------------------------------------------------------------------------

_SMALL = {"a", "an", "the", "of", "in", "on", "for", "to", "and", "with", "at", "by", "or", "as", "is"}


def title_from_url(url: str) -> str | None:
    """A plausible headline from the URL slug (title-cased words), or None if it has too few words."""
    best: list[str] = []
    for seg in urlparse(url).path.split("/"):
        seg = re.sub(r"\.(html?|php|aspx?)$", "", seg)
        words = [w for w in re.split(r"[-_]+", seg) if w]
        year = False
        while len(words) > 1 and (re.fullmatch(r"\d{3,}|\d+(\.\d+)+", words[0]) or year and words[0].isdigit()):
            year, words = True, words[1:]          # ids and a date in front (2019-11-...)
        while len(words) > 1 and re.fullmatch(r"\d+|\d+(\.\d+)+|index", words[-1]):
            words = words[:-1]                      # ids and dates behind
        for i in range(len(words) - 1, 0, -1):      # nelson-s -> Nelson's
            if words[i].lower() == "s":
                words[i - 1:i + 1] = [words[i - 1] + "'s"]
        if len(words) > len(best):
            best = words
    if len(best) < 3:
        return None
    best = best[:16]
    out = [w if w[:1].isupper() else (w if i and w in _SMALL else w.capitalize()) for i, w in enumerate(best)]
    return " ".join(out)


def site_name(url: str) -> str:
    host = urlparse(url).netloc.lower().removeprefix("www.").removeprefix("blog.")
    return host.split(".")[0].capitalize()


def date_from_url(url: str, rng: random.Random) -> date:
    m = re.search(r"/(20\d\d)/(\d\d)/(\d\d)/", url) or re.search(r"(20\d\d)-(\d\d)-(\d\d)", url)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    months = {m: i + 1 for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                               "sep", "oct", "nov", "dec"])}
    m = re.search(r"/(20\d\d)/([a-z]{3})/(\d\d)/", url)
    if m:
        return date(int(m[1]), months[m[2]], int(m[3]))
    return date(2018, 1, 1) + timedelta(days=rng.randrange(0, 8 * 365))


@dataclass
class Drop:
    id: str
    data: bytes
    name: str
    title: str | None
    planted: Planted | None
    date_kind: str | None
    date_lines: list[str]
    kinds: list[str]
    body: str
    words: int = 0
    encoding: str = "utf-8"
    seed: int = SEED
    chrome: list[tuple[str, str]] = field(default_factory=list)   # (kind, line) of every non-body line


@dataclass
class Block:
    text: str
    kind: str


def build_drop(page: str, url: str, body: str, rng: random.Random, others: list[str]) -> Drop:
    """One plain-text drop around ``body``, with its planted title and date and the kinds used."""
    kinds: list[str] = []
    title = title_from_url(url)
    if title and rng.random() < 0.05:
        title = None                      # like seed 004: a bare body, no headline at all
    site = site_name(url)
    agency = rng.choice(AGENCIES) if rng.random() < 0.3 else None

    # planted date
    planted = None
    date_kind = None
    top_dates: list[str] = []
    end_dates: list[str] = []
    header_date = False
    if rng.random() < DATED_SHARE:
        day = date_from_url(url, rng)
        zone = ZoneInfo(rng.choice(ZONES))
        local = datetime(day.year, day.month, day.day, rng.randrange(0, 24), rng.randrange(0, 60), tzinfo=zone)
        updated = local + timedelta(minutes=rng.randrange(20, 36 * 60))
        if rng.random() < 0.25:
            header_date = True
        if header_date and rng.random() < 0.3:
            date_kind, has_time = "header_only", False      # like seed 001: only the scraper's header
        elif rng.random() < 0.12:
            date_kind, has_time = "in_byline", False
        else:
            date_kind, fmt, has_time = rng.choice(DATE_FORMATS)
            top, end = fmt(local, updated)
            if date_kind in BARE_DATES and rng.random() < 0.35:
                top = [rng.choice(PUBLISHED_WORDS) + top[0]]
            top_dates, end_dates = top, end
        planted = Planted(local, has_time)
        kinds.append(f"date_{date_kind}")

    blocks_top: list[Block] = []
    if header_date:
        chrome = rng.choice([
            rng.choice(SECTIONS), f"Sign up now: Get {site}'s newsletters delivered to your inbox",
            f"{planted.local:%A, %B %d, %Y}", "Skip to main content", "Menu", site.upper()])
        blocks_top.append(Block(f" date {planted.local:%Y-%m-%d} {chrome}", "scraper_header"))
    if rng.random() < 0.12:
        blocks_top.append(Block(rng.choice(COOKIES), "cookie_notice"))
    if rng.random() < 0.1:
        blocks_top.append(Block(rng.choice(APP), "app_prompt"))
    if rng.random() < 0.2:
        blocks_top.append(Block(rng.choice(BREADCRUMBS), "breadcrumbs"))
    if rng.random() < 0.45:
        blocks_top.append(Block(rng.choice(SECTIONS), "section_label"))

    # the furniture around the headline, in one of several orders
    head: list[Block] = []
    if title:
        head.append(Block(title, "headline"))
        if rng.random() < 0.15:
            head.append(Block(title, "headline_repeated"))
    if rng.random() < 0.35:
        if rng.random() < 0.5:
            lede = body.strip().split("\n", 1)[0]
            first = re.split(r"(?<=[.!?])\s", lede, maxsplit=1)[0]     # its first sentence
            head.append(Block(first, "standfirst_lede"))
        else:
            head.append(Block(rng.choice(STANDFIRSTS), "standfirst"))
    meta: list[Block] = []
    if rng.random() < 0.3:
        kind, line = caption(rng)
        meta.append(Block(line, kind))
    if date_kind == "in_byline":
        d = planted.local
        by = rng.choice([f"By {person(rng)} | {d:%B} {d.day}, {d.year}", f"By {person(rng)} on {d:%B} {d.day}, {d.year}",
                         f"{person(rng)} • {d:%b} {d.day}, {d.year} • 4 min read",
                         f"By {person(rng)}, {d.day} {d:%B} {d.year}"])
        meta.append(Block(by, "byline_dated"))
        top_dates = [by]
    elif rng.random() < 0.55:
        meta.append(Block(byline(rng, agency), "byline"))
    if top_dates and date_kind != "in_byline":
        meta.append(Block("\n".join(top_dates), "date_line"))
    for share, kind, items in ((0.2, "listen", LISTEN), (0.15, "read_time", READ_TIME),
                               (0.2, "share_bar", SHARE), (0.05, "text_size", TEXT_SIZE)):
        if rng.random() < share:
            meta.append(Block(rng.choice(items), kind))
    order = rng.random()
    if order < 0.5:
        furniture = head + meta
    elif order < 0.8:
        rng.shuffle(meta)
        furniture = head[:1 + ("headline_repeated" in [b.kind for b in head[:2]])] + meta + \
            head[1 + ("headline_repeated" in [b.kind for b in head[:2]]):]
    else:
        furniture = meta + head
    blocks_top += furniture

    # body with inserts between paragraphs (never before the first)
    paragraphs = [p for p in re.split(r"\n+", body.strip()) if p.strip()]
    middle: list[Block] = [Block(p, "body") for p in paragraphs]
    inserts: list[Block] = []
    if rng.random() < 0.35:
        inserts.append(Block(rng.choice(ADS), "advert"))
    if rng.random() < 0.3:
        text = f"{rng.choice(READ_MORE)} {rng.choice(others)}"
        if rng.random() < 0.3:
            text = rng.choice(READ_MORE) + "\n" + rng.choice(others)
        inserts.append(Block(text, "read_more"))
    if rng.random() < 0.2:
        kind, line = caption(rng)
        inserts.append(Block(line, kind))
    if rng.random() < 0.15:
        inserts.append(Block(rng.choice(NEWSLETTER), "newsletter_mid"))
    if rng.random() < 0.1:
        inserts.append(Block(rng.choice(ADS), "advert"))
    if len(paragraphs) > 1:
        for block in inserts:
            middle.insert(rng.randrange(1, len(middle)), block)

    bottom: list[Block] = []
    if rng.random() < (0.6 if agency else 0.1):
        bottom.append(Block(wire_trailer(rng, agency), "wire_trailer"))
    if end_dates:
        bottom.append(Block("\n".join(end_dates), "date_line_end"))
    if rng.random() < 0.2:
        a, b = rng.sample(SECTIONS, 2)
        bottom.append(Block(rng.choice(TAGS).format(a=a, b=b), "tags"))
    if rng.random() < 0.2:
        bottom.append(Block(rng.choice(SHARE), "share_bar"))
    if rng.random() < 0.1:
        bottom.append(Block(rng.choice(COMMENTS), "comments"))
    if rng.random() < 0.35:
        items = rng.sample(others, rng.randrange(3, 6))
        style = rng.random()
        if style < 0.3:
            items = [f"{i + 1}. {t}" for i, t in enumerate(items)]
        elif style < 0.5:
            items = [f"{t}\n{rng.choice(['2h ago', '5 min read', '3 hours ago', 'Yesterday'])}" for t in items]
        bottom.append(Block(rng.choice(RELATED_HEAD) + "\n" + "\n".join(items), "related_list"))
    if rng.random() < 0.2:
        bottom.append(Block(rng.choice(NEWSLETTER), "newsletter_end"))
    if rng.random() < 0.1:
        bottom.append(Block(rng.choice(APP), "app_prompt"))
    if rng.random() < 0.45:
        year = planted.local.year if planted else 2019
        bottom.append(Block(copyright_line(rng, year, site, agency), "copyright"))
    if rng.random() < 0.2:
        bottom.append(Block(rng.choice(FOOTER), "footer_links"))
    if rng.random() < 0.05:
        bottom.append(Block(rng.choice(COOKIES), "cookie_notice"))

    blocks = blocks_top + middle + bottom
    kinds += sorted({b.kind for b in blocks if b.kind != "body"} - {"date_line", "date_line_end"})

    # layout: paragraph separation, hard wrap, trailing spaces, line endings, encoding
    blank = rng.random() < 0.65
    sep = "\n\n" if blank else "\n"
    texts = [b.text for b in blocks]
    if blank and rng.random() < 0.07:
        texts = [textwrap.fill(t, 72, break_long_words=False, break_on_hyphens=False) if b.kind == "body" else t
                 for t, b in zip(texts, blocks)]
        kinds.append("hard_wrap")
    if rng.random() < 0.08:
        texts = [t.replace("\n", "\u00a0\n") + "\u00a0" if b.kind == "body" else t for t, b in zip(texts, blocks)]
        kinds.append("trailing_nbsp")
    text = sep.join(texts) + "\n" * rng.choice([1, 1, 2, 10])
    if not blank:
        kinds.append("no_blank_lines")
    if rng.random() < 0.25:
        text = text.replace("\n", "\r\n")
        kinds.append("crlf")
    roll = rng.random()
    encoding = "utf-8"
    if roll < 0.15:
        try:
            data, encoding = text.encode("cp1252"), "cp1252"
        except UnicodeEncodeError:
            data = text.encode("utf-8")
    elif roll < 0.23:
        data, encoding = text.encode("utf-16"), "utf-16"   # with BOM
    elif roll < 0.28:
        data, encoding = text.encode("utf-8-sig"), "utf-8-sig"
    else:
        data = text.encode("utf-8")
    if encoding != "utf-8":
        kinds.append(f"enc_{encoding}")
    date_lines = top_dates + end_dates + ([blocks_top[0].text] if header_date else [])
    chrome = [("date_line" if b.kind.startswith("date_line") else b.kind, line)
              for b in blocks if b.kind != "body" for line in b.text.split("\n") if line.strip()]
    return Drop(page, data, f"{page[:16]}.txt", title, planted, date_kind, date_lines, kinds, body,
                encoding=encoding, chrome=chrome)


def build_set(truth: dict, seed: int = SEED) -> list[Drop]:
    ids = sorted(truth)
    rng = random.Random(seed)
    titles = {page: title_from_url(truth[page]["url"]) for page in ids}
    drops = []
    for page in ids:
        others = [t for p, t in titles.items() if t and p != page]
        drops.append(build_drop(page, truth[page]["url"], truth[page]["articleBody"],
                                random.Random(f"{seed}:{page}:{rng.random()}"), others))
        drops[-1].seed = seed
    return drops


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------

@dataclass
class Result:
    drop: Drop
    body: str = ""
    naive: str = ""
    title: str | None = None
    published: datetime | None = None
    error: str | None = None
    parse_ms: float = 0.0
    norm_ms: list[float] = field(default_factory=list)
    words: int = 0
    boilerplate: list[str] = field(default_factory=list)


def ws(text: str | None) -> str:
    return " ".join((text or "").split())


def date_right(planted: Planted, got: datetime | None) -> tuple[bool, bool]:
    """(same calendar date in the planted zone, same instant if a time was planted)."""
    if got is None:
        return False, False
    if got.tzinfo is None:
        got_local = got
    elif planted.has_time:
        got_local = got.astimezone(planted.local.tzinfo)
    else:
        got_local = got             # a bare date: compare the date as the normaliser gave it
    same_day = got_local.date() == planted.local.date()
    same_instant = (got.tzinfo is not None and got == planted.local) if planted.has_time else same_day
    return same_day, same_day and same_instant


def run_one(drop: Drop, rules) -> Result:
    res = Result(drop)
    t0 = time.perf_counter()
    docs = parse(drop.data, drop.name, max_decompressed_bytes=MAX_BYTES)
    res.parse_ms = (time.perf_counter() - t0) * 1000
    doc = docs[0] if docs else None
    if doc is None or isinstance(doc, BadInput):
        res.error = f"parse: {doc!r}"
        return res
    res.naive = doc.text
    res.words = len(doc.text.split())
    article = normalise(doc, rules)
    res.body, res.title, res.published = article.body, article.title, article.published_at
    res.boilerplate = list(article.boilerplate)
    return res


def time_normalise(results: list[Result], rules, runs: int) -> None:
    """Per article: normalise time (ms) of each of ``runs`` passes over the set, after a warm-up."""
    docs = []
    for res in results:
        docs.append(None if res.error else parse(res.drop.data, res.drop.name, max_decompressed_bytes=MAX_BYTES)[0])
    for doc in docs:           # warm-up pass
        if doc is not None:
            normalise(doc, rules)
    for _ in range(runs):
        for res, doc in zip(results, docs):
            if doc is None:
                continue
            t0 = time.perf_counter()
            normalise(doc, rules)
            res.norm_ms.append((time.perf_counter() - t0) * 1000)


def _tokens(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", (text or "").replace("\u00ad", ""))) + " "


def kept_chrome(res: Result) -> list[tuple[str, str]]:
    """Wrapper lines found in our body more often than in the true body: (kind, line)."""
    ours, truth = _tokens(res.body), _tokens(res.drop.body)
    out = []
    for kind, line in res.drop.chrome:
        t = _tokens(line)
        if t.strip() and ours.count(t) > truth.count(t):
            out.append((kind, line.strip()))
    return out


def lost_paragraphs(res: Result) -> list[str]:
    """True body paragraphs (4+ words) whose words are not found in our body in that order."""
    ours = _tokens(res.body)
    return [p.strip() for p in res.drop.body.split("\n")
            if len(_tokens(p).split()) >= 4 and _tokens(p) not in ours]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def report(results: list[Result]) -> str:
    ours = [score(r.body, r.drop.body) for r in results]
    naive = [score(r.naive, r.drop.body) for r in results]
    po, ro, fo = aggregate(ours)
    pn, rn, fn = aggregate(naive)
    titled = [r for r in results if r.drop.title]
    title_ok = [r for r in titled if ws(r.title) == ws(r.drop.title)]
    dated = [r for r in results if r.drop.planted]
    day_ok = [r for r in dated if date_right(r.drop.planted, r.published)[0]]
    date_ok = [r for r in dated if date_right(r.drop.planted, r.published)[1]]
    timed = [r for r in dated if r.drop.planted.has_time]
    instant_ok = [r for r in timed if date_right(r.drop.planted, r.published)[1]]
    undated = [r for r in results if not r.drop.planted]
    invented = [r for r in undated if r.published is not None]
    untitled = [r for r in results if not r.drop.title]
    title_invented = [r for r in untitled if r.title]

    def frac(a: list, b: list) -> str:
        return f"{len(a) / len(b):.3f} ({len(a)}/{len(b)})" if b else "-"

    out = [f"{len(results)} plain-text drops built (seed {results[0].drop.seed}) from the hand-marked bodies of the shared "
           "extraction benchmark; each wrapped in page chrome of several kinds (see the docstring of "
           "`bench/normalise_quality.py`). Body: 4-shingle metric (`bench/shingle_metric.py`).", ""]
    out.append("### Quality")
    out.append("")
    out.append(table(
        ["", "body P", "body R", "body F1", "title exact", "date right (dated drops)",
         "instant right (time planted)", "date invented (undated drops)"],
        [["ours (parse + normalise)", po, ro, fo, frac(title_ok, titled), frac(date_ok, dated),
          frac(instant_ok, timed), frac(invented, undated)],
         ["naive (whole text as body)", pn, rn, fn, "-", "-", "-", "-"]]))
    out.append("")
    out.append(f"Calendar date right (ignoring the time): {frac(day_ok, dated)}. "
               f"Title invented on drops without a headline: {frac(title_invented, untitled)}. "
               f"Targets: body F1 >= 0.97 ({'met' if fo >= 0.97 else 'NOT met'}), "
               f"date right >= 0.95 ({'met' if dated and len(date_ok) / len(dated) >= 0.95 else 'NOT met'}).")

    # speed
    per_article = [statistics.median(r.norm_ms) for r in results if r.norm_ms]
    per_600 = [statistics.median(r.norm_ms) * 600 / max(r.words, 1) for r in results if r.norm_ms]
    parse_ms = [r.parse_ms for r in results if not r.error]
    words = [r.words for r in results if not r.error]
    runs = len(results[0].norm_ms) if results and results[0].norm_ms else 0
    out += ["", "### Speed (in process, after a warm-up; per article the median of "
            f"{runs} passes)", ""]
    out.append(table(["", "median", "p90"], [
        ["normalise, ms per article", statistics.median(per_article), pct(per_article, 0.9)],
        ["normalise, ms per 600 words of input", statistics.median(per_600), pct(per_600, 0.9)],
        ["parse (decode), ms per article (one pass, separate)", statistics.median(parse_ms), pct(parse_ms, 0.9)],
        ["input words per drop", float(statistics.median(words)), float(pct(words, 0.9))],
    ]))
    med600 = statistics.median(per_600)
    out.append("")
    out.append(f"Target: under 2 ms per 600-word article ({'met' if med600 < 2 else 'NOT met'} at the median; "
               "2 shared cores, other work running, so treat as indicative).")

    # per kind: how often a line of that kind was left in the body, and the body scores there
    kinds: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        for k in r.drop.kinds:
            if not k.startswith("date_"):
                kinds.setdefault(k, []).append(i)
        kinds.setdefault("date_line", [])
        if any(k == "date_line" for k, _ in r.drop.chrome):
            kinds["date_line"].append(i)
    kept = {i: kept_chrome(r) for i, r in enumerate(results)}
    rows = []
    for k, idx in sorted(kinds.items(), key=lambda kv: -sum(any(kk == kv[0] for kk, _ in kept[i]) for i in kv[1])
                         / max(len(kv[1]), 1)):
        if not idx:
            continue
        hits = [i for i in idx if any(kk == k for kk, _ in kept[i])]
        p, r_, f = aggregate([ours[i] for i in idx])
        example = next((line for i in hits for kk, line in kept[i] if kk == k), "")
        rows.append([k, len(idx), f"{len(hits)}", p, r_, f, example[:60].replace("|", "\\|")])
    out += ["", "### Wrapper kinds: drops carrying one, drops where a line of it stayed in the body, body scores "
            "of those drops (most carry several kinds)", ""]
    out.append(table(["kind", "drops", "left in body", "P", "R", "F1", "example left in body"], rows))

    lost = [(r.drop.id[:12], para) for r in results for para in lost_paragraphs(r)]
    out += ["", f"### Body paragraphs missing from our body ({len(lost)})", ""]
    if lost:
        out.append(table(["id", "paragraph"], [[i, p[:110].replace("|", "\\|")] for i, p in lost]))

    # per date format
    fmts: dict[str, list[Result]] = {}
    for r in dated:
        fmts.setdefault(r.drop.date_kind, []).append(r)
    rows = []
    for k, rs in sorted(fmts.items()):
        rows.append([k, len(rs), sum(date_right(x.drop.planted, x.published)[0] for x in rs),
                     sum(date_right(x.drop.planted, x.published)[1] for x in rs), rs[0].drop.date_lines[0].replace("\n", " / ")
                     .replace("|", "\\|")[:70] if rs[0].drop.date_lines else ""])
    out += ["", "### Published date by format", ""]
    out.append(table(["format", "drops", "date right", "right (with instant)", "example"], rows))

    # worst by body F1
    order = sorted(range(len(results)), key=lambda i: f1(*ours[i]))
    rows = []
    for i in order[:10]:
        r = results[i]
        rows.append([r.drop.id[:12], ours[i][0], ours[i][1], f1(*ours[i]), naive[i][0],
                     " ".join(k for k in r.drop.kinds if not k.startswith("date_"))])
    out += ["", "### The 10 worst drops by body F1 (ours)", ""]
    out.append(table(["id", "P", "R", "F1", "naive P", "wrapper kinds"], rows))

    def cellish(s: object) -> str:
        return str(s).replace("\n", " / ").replace("|", "\\|")

    misses = [r for r in titled if r not in title_ok]
    out += ["", f"### Title misses ({len(misses)})", ""]
    if misses:
        out.append(table(["id", "planted", "got"], [[r.drop.id[:12], cellish(r.drop.title), cellish(r.title)]
                                                      for r in misses]))
    if title_invented:
        out += ["", "Titles on drops without a headline: " + "; ".join(
            f"{r.drop.id[:12]}: {r.title!r}"[:140] for r in title_invented)]
    misses = [r for r in dated if r not in date_ok]
    out += ["", f"### Date misses ({len(misses)})", ""]
    if misses:
        out.append(table(["id", "format", "planted line(s)", "planted", "got"], [
            [r.drop.id[:12], r.drop.date_kind, cellish(" / ".join(r.drop.date_lines))[:90],
             r.drop.planted.local.isoformat(timespec="minutes") if r.drop.planted.has_time
             else r.drop.planted.local.date().isoformat(),
             r.published.isoformat() if r.published else "none"] for r in misses]))
    out += ["", f"### Dates invented on undated drops ({len(invented)})", ""]
    if invented:
        out.append(table(["id", "got"], [[r.drop.id[:12], r.published.isoformat()] for r in invented]))
    out += ["", "Notes. Titles are planted from the URL slug (title-cased), dates from the URL where it has one "
            "(else a random day 2018-2025) at a random time in one of 8 zones, printed in one of "
            f"{len(DATE_FORMATS)} formats, in a dated byline, or only in the scraper's ` date YYYY-MM-DD` header. "
            "A date is right when the calendar day in the planted zone matches and, where a time was "
            "printed, the instant too. Wrapper text is English even around the non-English bodies. "
            "Timings: per 600 words of the decoded input; parse is timed once per drop (its p90 is the "
            "non-UTF-8 drops' charset detection). `--dump DIR` writes every drop and a truth JSON "
            "(with our output) to read; `--seed N` draws another set."]
    errors = [r for r in results if r.error]
    if errors:
        out += ["", "Errors: " + "; ".join(f"{r.drop.id[:12]}: {r.error}" for r in errors)]
    return "\n".join(out)


def dump(results: list[Result], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for r in results:
        d = r.drop
        (directory / d.name).write_bytes(d.data)
        truth = {"id": d.id, "title": d.title, "encoding": d.encoding, "kinds": d.kinds,
                 "published": (d.planted.local.isoformat() if d.planted.has_time
                               else d.planted.local.date().isoformat()) if d.planted else None,
                 "date_format": d.date_kind, "date_lines": d.date_lines, "body": d.body,
                 "ours": {"title": r.title, "published_at": r.published.isoformat() if r.published else None,
                          "body": r.body, "boilerplate": r.boilerplate,
                          "body_p_r": score(r.body, d.body)}}
        (directory / (d.name.removesuffix(".txt") + ".truth.json")).write_text(
            json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="update the section in BENCHMARKS.md")
    parser.add_argument("--dump", type=Path, metavar="DIR", help="write the drops and their truth here")
    parser.add_argument("--seed", type=int, default=SEED, help="another seed: another draw of wrappers")
    parser.add_argument("--runs", type=int, default=SPEED_RUNS, help="timed passes over the set")
    args = parser.parse_args()
    data = require_extraction_data()
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    drops = build_set(truth, args.seed)
    rules = load_rules()
    results = [run_one(d, rules) for d in drops]
    time_normalise(results, rules, args.runs)
    text = report(results)
    print(text)
    if args.dump:
        dump(results, args.dump)
        print(f"\nwrote {len(results)} drops and truth files to {args.dump}")
    if args.write:
        write_section("normalise-quality", "Normalise: plain-text quality and speed", text,
                      ".venv/bin/python bench/normalise_quality.py --write")


if __name__ == "__main__":
    main()

"""The labelled set of the dedup benchmark, built deterministically from real article bodies.

Positives are syndication-style copies of an original, one kind of change per variant type (and
``syndicated``, several at once, as a copy on another outlet usually is). Negatives are other
articles: every original against every other (with named groups of same-topic, same-day
reports by different outlets), and ``shared_background``: a different story that reuses one
background paragraph of the original, as follow-up wire stories do.
"""

from __future__ import annotations

import json
import math
import random
import re
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Same-topic, same-day reports by different outlets in the shared set (id prefixes), and the
# seeds (000-003: Zelensky, Trump and air defence on different days; 004: Zelensky and Austin).
SAME_TOPIC = (
    ("seed000", "seed001", "seed002", "seed003", "seed004"),
    ("35b158918c", "9cb8224b66", "ac1bfdd4c5"),  # Doobie Brothers reunion
    ("156770d676", "3f65af7b6b", "c13b9c0e04"),  # South Dakota "Meth. We're on it."
    ("042bb7b5fe", "8267acacb9", "aade2ec8d1"),  # Google Stadia launch
    ("7a664e40d2", "c90731f051", "f5c90a6d52"),  # impeachment hearings
    ("7bb1ca9035", "9eef8162bb"),  # feather-duvet lung
    ("8b19453030", "ea25dd7edf"),  # plague cases in China
    ("b37be3535e", "e1c7023ee2"),  # hibernating astronauts
    ("42aad16bde", "d1c57d7821"),  # NASA commercial lunar landers
    ("5ae11e580a", "c69e539d68"),  # Ascom business news
    ("57e2e98887", "dfd43bc0d4"),  # my6sense press releases
    ("ad826691a8", "cc4aa22b82"),  # 9to5Mac deals and gift guide
)

HEADLINES = ("Breaking: {}", "{} - latest", "UPDATE 1-{}", "{} | World News", "WATCH: {}")
CHROME_TOP = (
    "Sign up now: Get our newsletters delivered to your inbox", "Listen to This Article",
    "Advertisement", "Share this article", "Follow us on Google News", "Skip to content",
    "By Staff Writer | Updated 10:42 am", "Trending Now",
)
CHROME_BOTTOM = (
    "Read more:", "Related Stories", "Advertisement", "Subscribe to our YouTube channel",
    "Copyright 2025 The Daily Herald. All rights reserved.", "Comments are closed.",
    "Click here to get the app", "Most Read",
)
WIRE_FOOTERS = (
    "(Reporting by Tom Balmforth; Editing by Alex Richardson)",
    "Reuters",
    "© Thomson Reuters 2025",
    "(This story has not been edited by our staff and is auto-generated from a syndicated feed.)",
    "Copyright 2025 The Associated Press. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed.",
    "-- AFP",
)
SPELLING = {
    "defense": "defence", "center": "centre", "color": "colour", "organization": "organisation",
    "program": "programme", "favorite": "favourite", "analyze": "analyse", "percent": "per cent",
    "theater": "theatre", "labor": "labour", "realize": "realise", "honor": "honour",
}
SYNONYMS = {
    "said": "says", "says": "said", "about": "around", "also": "further", "but": "however",
    "big": "large", "get": "obtain", "help": "assist", "show": "reveal", "start": "begin",
    "told": "informed", "added": "said", "more": "further", "many": "numerous", "very": "highly",
}


@dataclass(frozen=True)
class Item:
    id: str
    origin: str  # the original it is a copy of ("" for a negative)
    kind: str  # variant type, or "original" / "shared_background"
    body: str


def load_originals(extraction_dir: Path) -> dict[str, str]:
    """The 91 hand-marked bodies (by 10-character id prefix) and the five seeds."""
    truth = json.loads((extraction_dir / "ground-truth.json").read_text())
    bodies = {key[:10]: value["articleBody"] for key, value in sorted(truth.items())}
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        bodies["seed" + path.name[:3]] = path.read_text()
    return bodies


def _rng(*parts: str) -> random.Random:
    return random.Random(zlib.crc32("/".join(parts).encode()))


def _paragraphs(body: str) -> list[str]:
    return [p for p in re.split(r"\n+", body.strip()) if p.strip()]


def headline_chrome(body: str, rng: random.Random) -> str:
    first = _paragraphs(body)[0].split(".")[0][:80]
    top = [rng.choice(HEADLINES).format(first)] + rng.sample(CHROME_TOP, 3)
    bottom = rng.sample(CHROME_BOTTOM, 3)
    return "\n".join(top) + "\n\n" + body.strip() + "\n\n" + "\n".join(bottom)


def wire_footer(body: str, rng: random.Random) -> str:
    return body.strip() + "\n\n" + "\n".join(rng.sample(WIRE_FOOTERS, 2))


def copy_edits(body: str, rng: random.Random, rate: float = 0.025) -> str:
    """Light edits on about ``rate`` of the words: spelling, synonyms, dropped words, numbers."""
    tokens = re.split(r"(\s+)", body)
    for i in range(0, len(tokens), 2):
        word = tokens[i]
        if not word or rng.random() >= rate:
            continue
        bare = word.lower().strip(".,;:\"'")
        if bare in SPELLING:
            tokens[i] = word.replace(bare, SPELLING[bare])
        elif bare in SYNONYMS:
            tokens[i] = word.replace(bare, SYNONYMS[bare])
        elif re.fullmatch(r"[\d,]+", word):
            tokens[i] = word.replace(",", "")
        else:
            choice = rng.random()
            tokens[i] = "" if choice < 0.5 else (word + " " + rng.choice(("also", "now", "then")))
    return "".join(tokens)


def cut(body: str, rng: random.Random, low: float = 0.5, high: float = 0.9) -> str:
    """The first 50-90% of the words, ended at a sentence end where there is one."""
    words = body.split(" ")
    keep = " ".join(words[: max(1, int(len(words) * rng.uniform(low, high)))])
    end = max(keep.rfind(". "), keep.rfind(".\n"))
    return keep[: end + 1] if end > len(keep) // 2 else keep


def teaser(body: str, rng: random.Random, low: float = 0.2, high: float = 0.5, min_words: int = 60) -> str | None:
    """The opening 20-50% of the words (and at least ``min_words``), ended at a sentence end
    where that still keeps both: the lead an aggregator or a syndication feed reprints. None
    for an article too short to have one (under ``min_words / high`` words). Words are counted
    as the dedupe stage folds them (runs of letters and digits)."""
    spans = [m.end() for m in re.finditer(r"[^\W_]+", body)]
    if len(spans) * high < min_words:
        return None
    least = max(min_words, math.ceil(len(spans) * low))
    keep = body[: spans[max(least, int(len(spans) * rng.uniform(low, high))) - 1]]
    end = max(keep.rfind(". "), keep.rfind(".\n"))
    if end > 0 and len(re.findall(r"[^\W_]+", keep[: end + 1])) >= least:
        keep = keep[: end + 1]
    return keep.strip()


def paragraphs_dropped_or_moved(body: str, rng: random.Random) -> str:
    """One or two paragraphs dropped (at most a fifth of the text) and one moved."""
    paras = _paragraphs(body)
    if len(paras) < 4:  # one block of text: drop a sentence and move another
        paras = re.split(r"(?<=[.!?])\s+", body.strip())
    total = sum(len(p) for p in paras)
    for _ in range(rng.choice((1, 2))):
        small = [i for i, p in enumerate(paras[1:], 1) if len(p) < total / 5]
        if small and len(paras) > 3:
            paras.pop(rng.choice(small))
    if len(paras) > 2:
        moved = paras.pop(rng.randrange(1, len(paras)))
        paras.insert(rng.randrange(1, len(paras)), moved)
    return "\n".join(paras)


def other_encoding(body: str, rng: random.Random) -> str:
    """The same text as another encoder or CMS writes it: straight or curly quotes, ASCII
    dashes, decomposed accents, CRLF, no-break and doubled spaces. Must fold to the same bytes."""
    text = body.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2014", " -- ").replace("\u2013", "-")
    if rng.random() < 0.5:
        text = re.sub(r"'", "\u2019", text)
    text = unicodedata.normalize("NFD", text).replace("\n", "\r\n").replace(". ", ".\u00a0 ")
    return text


def syndicated(body: str, rng: random.Random) -> str:
    """What another outlet's copy usually is: its chrome, a wire footer, light edits, cut."""
    return wire_footer(headline_chrome(copy_edits(cut(body, rng, 0.6, 0.95), rng, 0.015), rng), rng)


VARIANTS = {
    "headline_chrome": headline_chrome,
    "wire_footer": wire_footer,
    "copy_edits": copy_edits,
    "cut_50_90": cut,
    "teaser_20_50": teaser,
    "paragraphs": paragraphs_dropped_or_moved,
    "encoding": other_encoding,
    "syndicated": syndicated,
}
EXACT_VARIANTS = {"encoding"}


def shared_background(body: str, donor: str, rng: random.Random) -> str:
    """A different story (``body``) that reuses one background paragraph of ``donor``."""
    paras = _paragraphs(body)
    donor_paras = [p for p in _paragraphs(donor) if len(p.split()) >= 15] or _paragraphs(donor)
    paras.insert(rng.randrange(1, len(paras) + 1), rng.choice(donor_paras))
    return "\n".join(paras)


def build(originals: dict[str, str]) -> tuple[list[Item], list[Item], list[tuple[Item, Item]]]:
    """The originals; their copies in a fixed shuffled order; and the hard negatives, as
    (indexed article A, story B on the same topic carrying one paragraph of A) pairs."""
    first = [Item(key, "", "original", body) for key, body in originals.items()]
    copies = [
        Item(f"{key}~{kind}", key, kind, copy)
        for key, body in originals.items()
        for kind, make in VARIANTS.items()
        if (copy := make(body, _rng(key, kind))) is not None
    ]
    _rng("order").shuffle(copies)
    hard: list[tuple[Item, Item]] = []
    for group in SAME_TOPIC:
        for a in group:
            for b in group:
                if a != b and a in originals and b in originals:
                    body = shared_background(originals[b], originals[a], _rng(a, b))
                    hard.append((first[list(originals).index(a)],
                                 Item(f"{b}~background~{a}", "", "shared_background", body)))
    return first, copies, hard

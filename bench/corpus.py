"""A deterministic benchmark corpus: N article files in mixed formats, with duplicates.

Articles are built from real text: the hand-marked article bodies and the HTML pages of the
shared extraction benchmark (when present), and the seeds. Each generated article draws whole
paragraphs from the pool, so it reads like news and has a realistic length (a few hundred to a
few thousand words). About 10% of files are exact duplicates (the same article re-encoded or
renamed) and 10% near duplicates (cut, re-headlined, a wire footer). Same seed, same corpus.

    python bench/corpus.py OUT_DIR [--count 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import EXTRACTION, ROOT  # noqa: E402

FORMATS = ("txt", "txt", "txt", "html", "json", "jsonl")  # weights: plain text dominates drops
WIRE_FOOTERS = ("REUTERS", "(Reporting by staff; Editing by the desk)", "AFP", "-- AP")
CHROME = ("Sign up now: Get our newsletters delivered to your inbox", "Listen to This Article",
          "Advertisement", "Read more:", "Share this article")


@dataclass
class Article:
    title: str
    body: str
    date: str


@dataclass
class Corpus:
    files: list[Path]
    html_pages: list[Path]   # the real HTML pages written (for the trafilatura comparison)
    articles: int            # articles the files hold (a JSONL file holds several)
    words: int


def _paragraph_pool() -> tuple[list[str], list[bytes]]:
    """Paragraphs of real articles, and the real HTML pages when the shared data is here."""
    paragraphs: list[str] = []
    pages: list[bytes] = []
    truth = EXTRACTION / "ground-truth.json"
    if truth.exists():
        for entry in json.loads(truth.read_text()).values():
            paragraphs += [p.strip() for p in entry["articleBody"].split("\n") if len(p.split()) >= 12]
        pages = [gzip.decompress(p.read_bytes()) for p in sorted((EXTRACTION / "html").glob("*.html.gz"))]
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        paragraphs += [p.strip() for p in seed.read_text(encoding="utf-8").split("\n") if len(p.split()) >= 12]
    return paragraphs, pages


def _article(rng: random.Random, pool: list[str], number: int) -> Article:
    target = int(rng.lognormvariate(6.4, 0.6))  # median ~600 words, 200..3000 mostly
    target = max(200, min(target, 3000))
    start = rng.randrange(len(pool))
    paragraphs, words = [], 0
    while words < target:
        paragraph = pool[(start + len(paragraphs) * 7 + rng.randrange(5)) % len(pool)]
        paragraphs.append(paragraph)
        words += len(paragraph.split())
    first = paragraphs[0].split()
    title = " ".join(first[: rng.randint(6, 12)]).rstrip(",.;:") + f" ({number})"
    day = 1 + number % 28
    return Article(title=title, body="\n\n".join(paragraphs), date=f"2026-0{1 + number % 9}-{day:02d}")


def _txt(article: Article, rng: random.Random) -> bytes:
    lines = [f" date {article.date} {rng.choice(CHROME)}", article.title, "", article.body]
    if rng.random() < 0.3:
        lines.append(rng.choice(WIRE_FOOTERS))
    return "\n".join(lines).encode("utf-8")


def _json(article: Article) -> bytes:
    slug = "-".join(article.title.lower().split()[:6])
    return json.dumps({"headline": article.title, "articleBody": article.body,
                       "datePublished": article.date, "url": f"https://example.org/{slug}"},
                      ensure_ascii=False).encode("utf-8")


def _near(article: Article, rng: random.Random) -> Article:
    paragraphs = article.body.split("\n\n")
    keep = max(1, int(len(paragraphs) * rng.uniform(0.6, 0.9)))
    return Article(title="UPDATE: " + article.title, body="\n\n".join(paragraphs[:keep]) + "\n\nREUTERS",
                   date=article.date)


def generate(out: Path, count: int, seed: int = 7) -> Corpus:
    """Write ``count`` files into ``out`` and describe them."""
    rng = random.Random(seed)
    pool, pages = _paragraph_pool()
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    html_pages: list[Path] = []
    made: list[Article] = []
    articles = words = 0
    for number in range(count):
        roll = rng.random()
        if made and roll < 0.10:      # exact duplicate: same article, another encoding or name
            base = rng.choice(made)
            path = out / f"{number:06d}-exact.txt"
            text = "\n".join([base.title, "", base.body])
            path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le") if rng.random() < 0.5
                             else text.encode("utf-8"))
            count_articles, body = 1, base.body
        elif made and roll < 0.20:    # near duplicate: a syndicated, cut copy
            near = _near(rng.choice(made), rng)
            path = out / f"{number:06d}-near.txt"
            path.write_bytes(_txt(near, rng))
            count_articles, body = 1, near.body
        else:
            fmt = rng.choice(FORMATS)
            if fmt == "html" and pages:
                path = out / f"{number:06d}.html"
                path.write_bytes(pages[number % len(pages)])
                html_pages.append(path)
                files.append(path)
                articles += 1
                continue
            article = _article(rng, pool, number)
            made.append(article)
            if fmt == "jsonl":
                batch = [article] + [_article(rng, pool, number * 1000 + k) for k in range(1, 4)]
                made += batch[1:]
                path = out / f"{number:06d}.jsonl"
                path.write_bytes(b"\n".join(_json(a) for a in batch) + b"\n")
                count_articles, body = len(batch), " ".join(a.body for a in batch)
            elif fmt == "json":
                path = out / f"{number:06d}.json"
                path.write_bytes(_json(article))
                count_articles, body = 1, article.body
            else:
                path = out / f"{number:06d}.txt"
                path.write_bytes(_txt(article, rng))
                count_articles, body = 1, article.body
        files.append(path)
        articles += count_articles
        words += len(body.split())
    return Corpus(files=files, html_pages=html_pages, articles=articles, words=words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    corpus = generate(args.out, args.count, args.seed)
    print(f"{len(corpus.files)} files, {corpus.articles} articles, {corpus.words} words -> {args.out}")


if __name__ == "__main__":
    main()

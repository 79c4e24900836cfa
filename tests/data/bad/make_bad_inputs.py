"""(Re)generate the bad inputs of ``tests/data/bad/``: ``python tests/data/bad/make_bad_inputs.py``.

Deterministic: the same bytes on every run (fixed seeds, gzip mtime 0). The small files are
committed; the large ones (a gzip bomb, a file over ``INGEST_MAX_FILE_BYTES``) are made at test
time by ``write_gzip_bomb`` and ``write_too_large``. ``EXPECTED`` says what each file must give;
``tests/test_bad_inputs.py`` asserts it and ``README.md`` here is written from it.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

ARTICLE = (
    "Talks on the port deal resume in Geneva\n\n"
    "GENEVA, March 3 - Negotiators from both sides returned to the table on Monday after a "
    "two-week pause, officials said, with the harbour fees and the customs checks still open.\n\n"
    "\"We are closer than we were in February,\" one of the delegates told reporters outside "
    "the Palais des Nations, adding that a draft could be ready by the end of the month.\n\n"
    "The talks are expected to last until Friday.\n"
)


@dataclass(frozen=True)
class Expected:
    """What one input must give: a failure record of ``kind`` whose message names the cause."""

    kind: str | None        # error.type; None: a record, not a failure
    mentions: tuple[str, ...]  # words the one-line message holds (case-insensitive)
    what: str               # what the file is, for the README
    bug: str | None = None  # a known bug: what happens instead (its test is a strict xfail)


# One failure record per file, except ``malformed_lines.jsonl`` (see ``JSONL_LINES``).
EXPECTED: dict[str, Expected] = {
    "empty.txt": Expected("empty", ("empty",), "zero bytes"),
    "image.png": Expected("not_text", ("NUL", "binary"), "a real 1x1 PNG (signature, IHDR, IDAT, IEND)"),
    "program.bin": Expected("not_text", ("NUL", "binary"), "a minimal x86-64 ELF executable (never executed)"),
    "random_bytes.bin": Expected(
        "not_text", ("encoding", "binary"),
        "4 KiB of seeded random bytes with no NUL (so the charset detector is what rejects it)"),
    "invalid_utf8.txt": Expected(
        "not_text", ("encoding", "not text"),
        "English text with bytes undefined in UTF-8 and Windows-1252 (0x81 0x8D 0x8F 0x90 0x9D) "
        "and control bytes every few characters"),
    "nul_bytes.txt": Expected("not_text", ("NUL",), "a readable article with NUL bytes in it"),
    "malformed.json": Expected("bad_json", ("malformed JSON", "line"), "a JSON article object cut off mid-way"),
    "corrupt.txt.gz": Expected("bad_gzip", ("gzip", "corrupt"), "a gzip header followed by garbage"),
    "no_text.html": Expected(
        "no_text", ("HTML", "no article text"),
        "a page with only a header, nav links, a cookie notice, scripts and a footer"),
    "deeply_nested.json": Expected(
        "bad_json", ("JSON",), "20,000 nested JSON arrays"),
    "truncated.txt.gz": Expected(
        "bad_gzip", ("gzip",), "the first half of a gzip file (no end of stream, no CRC)"),
    "author_number.json": Expected(
        None, (), 'an article whose "author" is a number: the odd field is dropped, the article kept'),
    "windows_1252.txt": Expected(
        None, (), "not bad: Windows-1252 text (curly quotes, accents, en dash), read as `cp1252`"),
    "mostly_utf8.txt": Expected(
        None, (), "UTF-8 text (curly quotes, accents) with one invalid byte: read as UTF-8, "
        "the bad byte as U+FFFD (never a legacy code page: no mojibake)"),
    "utf16le_no_bom.txt": Expected(None, (), "UTF-16-LE text without a BOM"),
    "utf16be_no_bom.txt": Expected(None, (), "UTF-16-BE text without a BOM"),
    "utf32le_no_bom.txt": Expected(None, (), "UTF-32-LE text without a BOM"),
    "nul_in_page.html": Expected(
        None, (), "a news page with two stray NUL bytes (as 2 of 621 pages of a real crawl): "
        "the NULs are dropped, the page read"),
    "articles_array.json": Expected(
        None, (), "a JSON array of three articles and one number (a scraper export): three "
        "records and one `bad_json` failure, each traced by its position in `source.line`"),
    "articles_wrapper.json": Expected(
        None, (), 'the same in {"articles": [...]}'),
}

# articles_array.json and articles_wrapper.json: position -> what it gives (None: a record)
ARRAY_ELEMENTS: dict[int, tuple[str, tuple[str, ...]] | None] = {
    1: None, 2: None, 3: ("bad_json", ("article 3", "not a JSON object")), 4: None,
}
MULTI = ("malformed_lines.jsonl", "articles_array.json", "articles_wrapper.json")

# malformed_lines.jsonl: lines 1 and 6 are articles, line 4 is blank; line -> (kind, mentions)
JSONL_GOOD_LINES = (1, 6)
JSONL_LINES: dict[int, tuple[str, tuple[str, ...]]] = {
    2: ("bad_json", ("line 2", "malformed JSON")),
    3: ("bad_json", ("line 3", "not a JSON object")),
    5: ("no_text", ("line 5", "no article text")),
}

# Made at test time (large on disk or in memory), not committed.
GZIP_BOMB = "bomb.txt.gz"
TOO_LARGE = "too_large.txt"
DEEP_PAGE = "deep_divs.html"
LONG_TEXT = "long_text.txt"
LONG_LINE = "long_line.txt"
GENERATED: dict[str, Expected] = {
    DEEP_PAGE: Expected(None, (), "an article inside 100,000 nested <div>s: flattened, read"),
    LONG_TEXT: Expected("too_long", ("words", "INGEST_MAX_WORDS"),
                        "15 MiB of article text: far more words than one article has"),
    LONG_LINE: Expected("too_long", ("words", "INGEST_MAX_WORDS"),
                        "5 MB of words on one line (no line break at all)"),
    GZIP_BOMB: Expected("too_large", ("gzip", "limit"),
                        "about 100 KiB of gzip that expand to text 1 MiB beyond INGEST_MAX_DECOMPRESSED_BYTES"),
    TOO_LARGE: Expected("too_large", ("bytes", "limit"), "plain text one byte over INGEST_MAX_FILE_BYTES"),
}


# --- the inputs ------------------------------------------------------------------------------

def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x80", 9))
            + chunk(b"IEND", b""))


def elf() -> bytes:
    """ELF64 header, one PT_LOAD program header and `exit(0)`: a complete tiny executable."""
    code = b"\xb8\x3c\x00\x00\x00\x31\xff\x0f\x05"  # mov eax, 60; xor edi, edi; syscall
    base, header, phdr = 0x400000, 64, 56
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, base + header + phdr, header, 0, 0,
                               header, phdr, 1, 64, 0, 0)
    size = header + phdr + len(code)
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return ehdr + ph + code


def random_bytes() -> bytes:
    data = random.Random(20240501).randbytes(4096)
    return data.replace(b"\x00", b"\x01")


def invalid_utf8() -> bytes:
    rng = random.Random(1252)
    undefined = b"\x81\x8d\x8f\x90\x9d"  # invalid in UTF-8 and unassigned in Windows-1252
    control = bytes([*range(1, 9), *range(0x0E, 0x20)])
    out = bytearray()
    for number, byte in enumerate(ARTICLE.encode("ascii")):
        out.append(byte)
        if number % 6 == 0:
            out += bytes([rng.choice(undefined), rng.choice(control)])
    return bytes(out)


def windows_1252() -> bytes:
    legacy = ("Caf\u00e9 owners in Li\u00e8ge \u201ccannot wait\u201d for the r\u00e9sum\u00e9 of the "
              "talks \u2013 and the na\u00efve hope of a deal \u2026 is back.\n\n")
    at = ARTICLE.index("The talks are expected")
    return (ARTICLE[:at] + legacy + ARTICLE[at:]).encode("cp1252")


def nul_bytes() -> bytes:
    return ARTICLE.encode().replace(b"two-week pause", b"two-week\x00\x00pause")


def malformed_json() -> bytes:
    whole = json.dumps({"title": "Talks resume", "text": ARTICLE, "url": "https://example.com/a"}, indent=1)
    return whole[: whole.index('"url"')].encode()  # cut off after the text, before the url


def malformed_lines() -> bytes:
    good = [json.dumps({"title": f"Story {n}", "text": f"{ARTICLE}\nStory number {n}."}) for n in (1, 2)]
    lines = [
        good[0],
        '{"title": "Broken", "text": "an unterminated string}',
        '["an", "array", "not", "an", "object"]',
        "",
        '{"title": "A headline and nothing else"}',
        good[1],
    ]
    return ("\n".join(lines) + "\n").encode()


NO_TEXT_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Example News - Home</title>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>
<style>nav a { margin: 0 1em; } .cookie { position: fixed; bottom: 0; }</style>
</head>
<body>
<header><a href="/" class="logo">Example News</a></header>
<nav><ul>
<li><a href="/world">World</a></li><li><a href="/business">Business</a></li>
<li><a href="/tech">Technology</a></li><li><a href="/sport">Sport</a></li>
</ul></nav>
<div id="app"></div>
<script src="/static/bundle.js"></script>
<div class="cookie"><script>document.write('We use cookies.');</script></div>
<footer><ul>
<li><a href="/about">About us</a></li><li><a href="/privacy">Privacy policy</a></li>
<li><a href="/terms">Terms of use</a></li>
</ul></footer>
</body>
</html>
"""


def corrupt_gzip() -> bytes:
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + random.Random(1952).randbytes(200)


def truncated_gzip() -> bytes:
    whole = gzip.compress((ARTICLE * 4).encode(), compresslevel=9, mtime=0)
    return whole[: len(whole) // 2]


def deeply_nested_json() -> bytes:
    return b"[" * 20000 + b"]" * 20000


def author_number_json() -> bytes:
    return json.dumps({"title": "Talks resume", "text": ARTICLE, "author": 42}).encode()



def write_gzip_bomb(path: Path, expands_to: int) -> Path:
    """Gzip of plain text (not NULs: only the size limit may reject it) of ``expands_to`` bytes."""
    block = b"news " * (1 << 18)  # 1.25 MiB
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with open(path, "wb") as out:
        left = expands_to
        while left > 0:
            piece = block[:left]
            out.write(packer.compress(piece))
            left -= len(piece)
        out.write(packer.flush())
    return path


def write_too_large(path: Path, size: int) -> Path:
    """Plain article text, ``size`` bytes long."""
    text = ARTICLE.encode()
    with open(path, "wb") as out:
        out.write(text * (size // len(text)) + text[: size % len(text)])
    return path


UNICODE_ARTICLE = ARTICLE.replace("GENEVA", "KYIV").replace(
    "the Palais des Nations", "Kyiv’s cafés – naïvely"
)


def mostly_utf8() -> bytes:
    data = UNICODE_ARTICLE.encode()
    return data.replace(b"harbour", b"harb\xf6ur")  # one Latin-1 byte in UTF-8 text


NUL_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Talks on the port deal resume in Geneva</title></head>
<body><header><a href="/">Example News</a></header>
<article><h1>Talks on the port deal resume in Geneva</h1>
{paragraphs}
</article><footer><a href="/about">About us</a></footer></body></html>
"""


def _page(article: str = ARTICLE) -> str:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in article.split("\n\n")[1:])
    return NUL_PAGE.format(paragraphs=paragraphs)


def nul_in_page() -> bytes:
    page = _page().encode()
    at = page.index(b"<article>")
    return page[:at] + b"\x00" + page[at:].replace(b"officials said", b"officials\x00 said")


def _articles() -> list:
    return [
        {"title": f"Story {n}", "text": f"{ARTICLE}\nStory number {n}.", "url": f"https://example.com/{n}"}
        if n != 3 else 42
        for n in ARRAY_ELEMENTS
    ]


def write_deep_page(path: Path, depth: int = 100_000) -> Path:
    page = _page()
    at, end = page.index("<article>"), page.index("</article>") + len("</article>")
    path.write_text(page[:at] + "<div>" * depth + page[at:end] + "</div>" * depth + page[end:])
    return path


def write_long_text(path: Path, size: int = 15 * (1 << 20)) -> Path:
    return write_too_large(path, size)


def write_long_line(path: Path, size: int = 5_000_000) -> Path:
    words = " ".join(ARTICLE.split()) + " "
    path.write_text((words * (size // len(words) + 1))[:size])
    return path


SMALL = {
    "empty.txt": lambda: b"",
    "image.png": png,
    "program.bin": elf,
    "random_bytes.bin": random_bytes,
    "invalid_utf8.txt": invalid_utf8,
    "windows_1252.txt": windows_1252,
    "nul_bytes.txt": nul_bytes,
    "malformed.json": malformed_json,
    "malformed_lines.jsonl": malformed_lines,
    "no_text.html": lambda: NO_TEXT_HTML.encode(),
    "corrupt.txt.gz": corrupt_gzip,
    "truncated.txt.gz": truncated_gzip,
    "deeply_nested.json": deeply_nested_json,
    "author_number.json": author_number_json,
    "mostly_utf8.txt": mostly_utf8,
    "utf16le_no_bom.txt": lambda: UNICODE_ARTICLE.encode("utf-16-le"),
    "utf16be_no_bom.txt": lambda: UNICODE_ARTICLE.encode("utf-16-be"),
    "utf32le_no_bom.txt": lambda: UNICODE_ARTICLE.encode("utf-32-le"),
    "nul_in_page.html": nul_in_page,
    "articles_array.json": lambda: json.dumps(_articles(), indent=1).encode(),
    "articles_wrapper.json": lambda: json.dumps({"source": "scraper", "articles": _articles()}).encode(),
}


def write_small(folder: Path = HERE) -> list[Path]:
    paths = []
    for name, make in SMALL.items():
        path = folder / name
        path.write_bytes(make())
        paths.append(path)
    return paths


def readme() -> str:
    rows = ["| File | Expected `error.type` | The message names | What it is |", "|---|---|---|---|"]
    for name, exp in {**EXPECTED, **GENERATED}.items():
        made = " (made at test time)" if name in GENERATED else ""
        bug = f" **Known bug:** {exp.bug}." if exp.bug else ""
        kind = f"`{exp.kind}`" if exp.kind else "none: a record"
        rows.append(f"| `{name}`{made} | {kind} | {', '.join(exp.mentions)} | {exp.what}.{bug} |")
    lines = ", ".join(f"line {n}: `{kind}` ({', '.join(m)})" for n, (kind, m) in JSONL_LINES.items())
    arrays = ", ".join(f"{n}: `{e[0]}` ({', '.join(e[1])})" for n, e in ARRAY_ELEMENTS.items() if e)
    rows.append(f"| `articles_array.json`, `articles_wrapper.json` | one per bad element | its "
                f"position | the other elements are records; {arrays} |")
    rows.append(f"| `malformed_lines.jsonl` | one per bad line | its line number | lines "
                f"{' and '.join(map(str, JSONL_GOOD_LINES))} are articles (records); {lines}; line 4 is blank |")
    return (
        "# Bad inputs\n\n"
        "Generated by `python tests/data/bad/make_bad_inputs.py` (deterministic; edit the script, "
        "not the files). Each must end as a failure record in `records/_failed/` with this "
        "`error.type` and a one-line `error.message`, never a crash or a traceback; "
        "`tests/test_bad_inputs.py` checks every row, one by one through the pipeline and all at "
        "once through the running service. A known bug makes its test a strict `xfail`.\n\n"
        + "\n".join(rows) + "\n"
    )


def main(argv: list[str]) -> None:
    folder = Path(argv[0]) if argv else HERE
    for path in write_small(folder):
        print(f"{path.stat().st_size:>8}  {path}")
    (folder / "README.md").write_text(readme(), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])

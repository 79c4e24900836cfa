"""HTML body extraction quality per set and per half, next to plain trafilatura in the same run.

Two sets of real pages with hand-marked article text (see ``/work/shared/data/README.md``):
``benchmark`` (the shared extraction benchmark, 91 news and blog pages, where our rules were read)
and ``wide`` (``extraction-wide``: 401 pages of many sites, 2012, the Dragnet test split, whose
losing pages were read for classes of failure, not lines: the ``paragraphs`` and ``comments``
steps; pages kept aside by the lead are the check of both). Each set is split into two halves by a stable hash of the page id (CRC-32, odd or even),
so a rule fitted to some pages shows as a gap between halves. Scored with the benchmark's 4-shingle
metric (``bench/shingle_metric.py``).

* Extractors: plain trafilatura (the call ``parse_html`` builds on), ``extract_html`` (ours), and the
  record body (the page's bytes through parse and normalise: what the service writes), with
  trafilatura's own options if asked for (``--options``).
* Rules, left out one at a time, record body: each step of ``worker/pipeline/parse/html.py``
  (``TREE_STEPS``, ``LINE_STEPS``), each ``html_chrome`` rule and each named ``lines`` rule of
  ``normalise/boilerplate.yaml`` (plus its tail markers as one rule). Nothing in production code
  serves the benchmark: a step is left out by filtering the step tables (``_without_step``), a rule
  by compiling the built-in YAML without it (``_rules_without``). The effect is F1 with every rule
  minus F1 without this one, per set and per half: positive helps.

Skips cleanly (exit 0) when the data is absent (from a worktree, set ``INGEST_SHARED_DATA``).

    .venv/bin/python bench/html_quality.py --limit 10   # a quick look
    .venv/bin/python bench/html_quality.py --write      # also update BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import SHARED_DATA, require_extraction_data, table, write_section  # noqa: E402
from shingle_metric import aggregate, score  # noqa: E402

from worker.errors import BadInput  # noqa: E402
from worker.models import Document  # noqa: E402
from worker.pipeline.normalise import normalise  # noqa: E402
from worker.pipeline.normalise.rules import (  # noqa: E402
    BUILTIN_RULES, Rules, compile_rules, load_rule_file, load_rules,
)
from worker.pipeline.parse import decode, parse  # noqa: E402
from worker.pipeline.parse import html as ours  # noqa: E402

PLAIN = dict(include_comments=False, include_tables=False, with_metadata=True)
# trafilatura settings worth comparing (each a keyword set on top of PLAIN), run with --options
OPTIONS = {
    "trafilatura favor_precision": dict(favor_precision=True),
    "trafilatura favor_recall": dict(favor_recall=True),
    "trafilatura include_tables": dict(include_tables=True),
}
BASELINE = "plain trafilatura"
OURS = "ours (extract_html)"
RECORD = "record body (parse + normalise)"
SETS = {"benchmark": "extraction-benchmark", "wide": "extraction-wide/dragnet"}
NEGLIGIBLE = 0.0005  # an effect smaller than this (either way) on a set or half is negligible
TAILS = "tail_markers"
MAX_BYTES = 1 << 26


@dataclass(frozen=True)
class Page:
    id: str
    half: str  # "A" or "B", by a stable hash of the id
    raw: bytes  # as crawled
    html: str  # decoded as the parse stage decodes it (UTF-8 with replacement where it refuses)
    truth: str


def half_of(page_id: str) -> str:
    return "AB"[zlib.crc32(page_id.encode()) % 2]


def load(data: Path) -> list[Page]:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page in sorted(truth):
        raw = gzip.decompress((data / "html" / f"{page}.html.gz").read_bytes())
        try:
            html = decode(raw)[0]
        except BadInput:
            html = raw.decode("utf-8", "replace")
        pages.append(Page(page, half_of(page), raw, html, truth[page].get("articleBody") or ""))
    return pages


def trafilatura_extractor(options: dict) -> Callable[[Page], str]:
    import trafilatura

    def extract(page: Page) -> str:
        result = trafilatura.bare_extraction(page.html, **{**PLAIN, **options})
        return (result.text or "") if result is not None else ""

    return extract


def ours_extractor(page: Page) -> str:
    try:
        return ours.extract_html(page.html).text
    except BadInput:
        return ""


def cold_page_caches() -> None:
    """Empty the caches htmldate and trafilatura keep of page strings (date expressions, lines),
    so that each timed pass meets every page as the service does, the first time: a pass that
    ran after another over the same pages would find their dates parsed (dateparser's share of
    a page's time is large) and look faster than it is. Their caches of the libraries' own
    tables (dateparser's locales, month words) stay warm, as in a running worker."""
    from htmldate import extractors, validators
    from trafilatura import deduplication, utils

    for cached in (extractors.try_date_expr, validators._parse_and_validate,
                   validators.filter_ymd_candidate, deduplication.is_similar_domain,
                   utils.line_processing, utils.trim):
        cached.cache_clear()


# --- leaving things out, without hooks in html.py -------------------------------------------


@contextmanager
def _without_step(step: str) -> Iterator[None]:
    """The extractor with one of its steps left out: its step tables as they are, minus one."""
    saved = ours.TREE_STEPS, ours.LINE_STEPS
    ours.TREE_STEPS = {name: f for name, f in saved[0].items() if name != step}
    ours.LINE_STEPS = {name: f for name, f in saved[1].items() if name != step}
    try:
        yield
    finally:
        ours.TREE_STEPS, ours.LINE_STEPS = saved


def _rules_without(section: str, name: str) -> Rules:
    """The built-in rules as the YAML has them, minus every rule called ``name`` of ``section``
    (``lines`` or ``html_chrome``), or minus all tail markers (``section`` "tail_markers")."""
    built_in = load_rule_file(BUILTIN_RULES)
    if section == TAILS:
        return compile_rules([built_in.model_copy(update={TAILS: []})])
    kept = [rule for rule in getattr(built_in, section) if rule.name != name]
    return compile_rules([built_in.model_copy(update={section: kept})])


def ablations() -> dict[str, tuple[str, object]]:
    """Every thing left out in turn, by label: (kind, what). Kinds: ``tree`` and ``line`` (a step
    of html.py), ``chrome`` (rules of the extractor), ``lines`` (rules of the normaliser)."""
    built_in = load_rule_file(BUILTIN_RULES)
    out: dict[str, tuple[str, object]] = {}
    for step in ours.TREE_STEPS:
        out[f"html step `{step}`"] = ("tree", step)
    for step in ours.LINE_STEPS:
        out[f"html step `{step}`"] = ("line", step)
    for name in dict.fromkeys(rule.name for rule in built_in.html_chrome):
        out[f"html_chrome `{name}`"] = ("chrome", _rules_without("html_chrome", name))
    for name in dict.fromkeys(rule.name for rule in built_in.lines):
        out[f"lines `{name}`"] = ("lines", _rules_without("lines", name))
    out[f"lines `{TAILS}`"] = ("lines", _rules_without(TAILS, TAILS))
    return out


def record_document(page: Page, rules: Rules | None = None) -> Document | None:
    """The page's bytes through the parse stage, as the service reads a dropped file."""
    try:
        doc = parse(page.raw, f"{page.id}.html", max_decompressed_bytes=MAX_BYTES, rules=rules)[0]
    except BadInput:
        return None
    return doc if isinstance(doc, Document) else None


def body_of(doc: Document | None, rules: Rules | None = None) -> str:
    """The body a record holds (empty when the page becomes a failure record)."""
    if doc is None:
        return ""
    try:
        return normalise(doc, rules).body
    except BadInput:
        return ""


def record_bodies(page: Page, left_out: dict[str, tuple[str, object]]) -> tuple[str, dict[str, str]]:
    """The page's record body with everything, and with each thing of ``left_out`` left out.

    Tree steps re-run the parse stage with the step tables filtered. Line steps and chrome rules
    change only the text the line steps make of the two trafilatura passes: those passes (the
    costly part) are made once and the text made again from them; the document is the full run's
    with that text (the metadata is read before any step). Where the full run made no document,
    or its text is not what the kept passes give, the parse stage is re-run instead.
    """
    rules = load_rules()
    doc = record_document(page)
    full = body_of(doc)
    precise, broad, links = ours._passes(page.html)
    reusable = doc is not None and ours._body(precise, broad, links, rules)[0] == doc.text

    def from_passes(step_rules: Rules) -> Document | None:
        text, dropped = ours._body(precise, broad, links, step_rules)
        return doc.model_copy(update={"text": text, "dropped": dropped}) if text else None

    out = {}
    for label, (kind, what) in left_out.items():
        if kind == "tree":
            with _without_step(what):
                out[label] = body_of(record_document(page))
        elif kind == "line":
            with _without_step(what):
                out[label] = body_of(from_passes(rules) if reusable else record_document(page))
        elif kind == "chrome":
            out[label] = body_of(from_passes(what) if reusable else record_document(page, what))
        else:
            out[label] = body_of(doc, what)
    return full, out


# --- the report -------------------------------------------------------------------------------


def f1(pr: tuple[float, float]) -> float:
    return 2 * pr[0] * pr[1] / (pr[0] + pr[1]) if pr[0] + pr[1] else 0.0


def figures(scores: list[tuple[float, float]], pages: list[Page]) -> tuple[float, ...]:
    """P, R and F1 of a set, and F1 of each half."""
    p, r, f = aggregate(scores)
    halves = [aggregate([s for s, pg in zip(scores, pages) if pg.half == h])[2] for h in "AB"]
    return p, r, f, halves[0], halves[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument("--options", action="store_true", help="also trafilatura's own options")
    parser.add_argument("--limit", type=int, help="only the first N pages of each set (a quick look)")
    args = parser.parse_args()
    require_extraction_data()
    logging.disable(logging.WARNING)  # trafilatura logs every page it finds hard
    sets = {name: load(SHARED_DATA / sub)[: args.limit] for name, sub in SETS.items()
            if (SHARED_DATA / sub).is_dir()}

    extractors: dict[str, Callable[[Page], str]] = {BASELINE: trafilatura_extractor({}), OURS: ours_extractor}
    if args.options:
        extractors.update({name: trafilatura_extractor(o) for name, o in OPTIONS.items()})
    left_out = ablations()

    scores: dict[tuple[str, str], list[tuple[float, float]]] = {}  # (name, set) -> per page
    ms: dict[tuple[str, str], float] = {}
    for set_name, pages in sets.items():
        for pg in pages:  # warm up the libraries' global caches (dateparser's locales) untimed
            extractors[BASELINE](pg)
        for name, extract in extractors.items():
            extract(pages[0])  # warm up (imports) outside the timing
            cold_page_caches()
            start = time.process_time()
            bodies = [extract(pg) for pg in pages]
            ms[name, set_name] = (time.process_time() - start) * 1000 / len(pages)
            scores[name, set_name] = [score(b, pg.truth) for b, pg in zip(bodies, pages)]
            print(f"{set_name}: ran {name}", file=sys.stderr)
        body_of(record_document(pages[0]))  # warm up the normaliser too
        cold_page_caches()
        start = time.process_time()
        bodies = [body_of(record_document(pg)) for pg in pages]
        ms[RECORD, set_name] = (time.process_time() - start) * 1000 / len(pages)
        scores[RECORD, set_name] = [score(b, pg.truth) for b, pg in zip(bodies, pages)]
        for key in left_out:
            scores[key, set_name] = []
        for n, pg in enumerate(pages, 1):
            full, without = record_bodies(pg, left_out)
            if full != bodies[n - 1]:
                print(f"{set_name} {pg.id}: warning: the record body differs between two runs",
                      file=sys.stderr)
            for key, body in without.items():
                scores[key, set_name].append(score(body, pg.truth))
            if n % 50 == 0:
                print(f"{set_name}: left out each rule on {n} of {len(pages)} pages", file=sys.stderr)
        print(f"{set_name}: left out each rule", file=sys.stderr)

    body = report(sets, scores, ms, extractors, left_out)
    print(body)
    if args.write:
        if args.limit:
            raise SystemExit("--write with --limit: BENCHMARKS.md takes full runs only")
        write_section("html-extraction", "HTML body extraction: per set and half, rules left out",
                      body, ".venv/bin/python bench/html_quality.py --write"
                      + (" --options" if args.options else ""))
        print("BENCHMARKS.md updated (section html-extraction)")


def effect(value: float) -> str:
    """An effect with 4 decimals, marked when it is too small to count."""
    return f"{value:+.4f}" + (" negligible" if state(value) == "negligible" else "")


def state(value: float) -> str:
    """Whether an effect helps, hurts or is negligible, judged as printed (4 decimals), so
    that a table's "+0.0005" never reads as negligible."""
    value = round(value, 4)
    return "helps" if value >= NEGLIGIBLE else "hurts" if value <= -NEGLIGIBLE else "negligible"


def report(sets, scores, ms, extractors, left_out) -> str:  # noqa: ANN001
    names = list(sets)
    rows = []
    for name in [*extractors, RECORD]:
        for set_name in names:
            pages = sets[set_name]
            own, base = scores[name, set_name], scores[BASELINE, set_name]
            above = sum(f1(a) > f1(b) + 1e-9 for a, b in zip(own, base))
            below = sum(f1(a) < f1(b) - 1e-9 for a, b in zip(own, base))
            label = f"**{name}**" if name == RECORD else name
            rows.append([label, set_name, len(pages), *figures(own, pages), f"{ms[name, set_name]:.0f}",
                         "-" if name == BASELINE else f"{above} / {below}"])
    main_table = table(["extractor", "set", "pages", "P", "R", "F1", "F1 half A", "F1 half B",
                        "CPU ms/page", "pages above / below plain trafilatura"], rows)

    halves = []
    for set_name in names:
        pages = sets[set_name]
        for h in "AB":
            picked = [i for i, pg in enumerate(pages) if pg.half == h]
            t = aggregate([scores[BASELINE, set_name][i] for i in picked])[2]
            o = aggregate([scores[OURS, set_name][i] for i in picked])[2]
            r = aggregate([scores[RECORD, set_name][i] for i in picked])[2]
            halves.append([set_name, h, len(picked), t, o, r, effect(r - t)])
    halves_table = table(["set", "half", "pages", "F1 plain trafilatura", "F1 ours (extract_html)",
                          "F1 record body", "Δ record − plain"], halves)

    rule_rows, silent, mixed, mixed_weak, hurting, split = [], [], [], [], [], []
    for key in left_out:
        eff = []
        for set_name in names:
            full = figures(scores[RECORD, set_name], sets[set_name])
            without = figures(scores[key, set_name], sets[set_name])
            eff += [full[2] - without[2], full[3] - without[3], full[4] - without[4]]
        if scores[key, names[0]] == scores[RECORD, names[0]] and all(
            scores[key, s] == scores[RECORD, s] for s in names
        ):
            silent.append(key)
            continue
        per_set = {s: eff[3 * i] for i, s in enumerate(names)}
        states = {s: state(v) for s, v in per_set.items()}
        verdict = ", ".join(f"{s}: {st}" for s, st in states.items())
        hurt_halves = [f"{s} {h}" for i, s in enumerate(names) for j, h in enumerate("AB")
                       if state(eff[3 * i + 1 + j]) == "hurts"]
        if "hurts" in states.values():
            hurting.append(key)
        if hurt_halves:
            verdict += f"; hurts half {', '.join(hurt_halves)}"
            split.append((key, hurt_halves))
        if "helps" in states.values() and "hurts" in states.values():
            mixed.append((key, per_set))
            verdict = f"**{verdict}**"
        elif "helps" in states.values() and any(round(v, 4) < 0 for v in per_set.values()):
            mixed_weak.append((key, per_set))
        rule_rows.append([key, *map(effect, eff), verdict])
    headers = ["left out"]
    for set_name in names:
        headers += [f"Δ {set_name}", f"Δ {set_name} A", f"Δ {set_name} B"]
    rules_table = table(headers + ["verdict"], rule_rows)

    def listing(found: list[tuple[str, dict[str, float]]]) -> str:
        if not found:
            return "- none"
        return "\n".join(
            f"- {key}: " + ", ".join(f"{s} {v:+.4f}" for s, v in per_set.items())
            for key, per_set in found
        )

    from importlib.metadata import version

    return f"""Record bodies (the page's bytes through parse and normalise, what the service writes) on
{" and ".join(f"`{s}` ({len(sets[s])} pages)" for s in names)}, next to plain trafilatura
{version("trafilatura")} in the same run. `benchmark`: the shared extraction benchmark, where the
rules were read; `wide`: extraction-wide (Dragnet test split, 2012, many sites; its gold keeps
headline, byline and date lines, so absolute F1 is lower there), whose losing pages were read
for classes of failure (the `paragraphs` and `comments` steps); neither set is held aside: the
lead's held-aside pages are. Halves A and B
split each set by a stable hash of the page id (CRC-32 odd or even). Metric: the benchmark's
4-shingle metric (`bench/shingle_metric.py`: per-page normalised TP/FP/FN, P and R averaged
over pages, F1 of the two means; an empty prediction for a page with an article scores 0).
CPU ms/page: `time.process_time` over one pass of the set, after an untimed pass of plain
trafilatura that warms the libraries' global caches (dateparser's locales), each pass started
with their caches of page strings (parsed dates, lines) emptied, so that no extractor finds the
pages' dates parsed by the one before it (the machine is shared; compare rows of one run, not
runs).

### Extractors

{main_table}

### Halves

{halves_table}

### Rules left out one at a time (record body)

Δ = record-body F1 with everything minus F1 with this one thing left out (positive: it helps),
per set and half, 4 decimals; "negligible" marks |Δ| < {NEGLIGIBLE} as printed, and a set's
verdict counts only effects of at least that. `html step` rows leave out one step of `worker/pipeline/parse/html.py`
(`TREE_STEPS`, then `LINE_STEPS`); `html_chrome` rows one chrome rule and `lines` rows one line
rule of `worker/pipeline/normalise/boilerplate.yaml` (`tail_markers`: its trailing link-block
markers, as one rule). Left out by filtering the step tables and compiling the built-in YAML
without the rule: no hooks in production code.

{rules_table}

No effect on any page of either set: {", ".join(silent) or "none"}.

Help one set and hurt the other (by {NEGLIGIBLE} or more each; a finding, the rules are unchanged):

{listing(mixed)}

Help one set and lower the other by less than {NEGLIGIBLE}:

{listing(mixed_weak)}

Hurt a set (by {NEGLIGIBLE} or more): {", ".join(hurting) or "none"}.

Hurt a half (by {NEGLIGIBLE} or more), whatever they do to the sets: {
    "; ".join(f"{key} ({', '.join(halves)})" for key, halves in split) or "none"}.
"""


if __name__ == "__main__":
    main()

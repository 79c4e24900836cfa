"""HTML body extraction quality per set and per half, next to plain trafilatura in the same run.

Two sets of real pages with hand-marked article text (see ``/work/shared/data/README.md``):
``benchmark`` (the shared extraction benchmark, 91 news and blog pages, where our rules were read)
and ``wide`` (``extraction-wide``: 401 pages of many sites, 2012, the Dragnet test split, never
tuned on). Each set is split into two halves by a stable hash of the page id (CRC-32, odd or even),
so a rule fitted to some pages shows as a gap between halves. Scored with the benchmark's 4-shingle
metric (``bench/shingle_metric.py``).

* Extractors: plain trafilatura (the call ``parse_html`` builds on), ``extract_html`` (ours), and the
  record body (the page's bytes through parse and normalise: what the service writes), with any
  trafilatura options asked for (``--options``).
* Rules, left out one at a time, record body: each rule of ``worker/pipeline/parse/html.py``
  (``RULES``) and each named line rule of ``normalise/boilerplate.yaml`` (plus its tail markers as
  one rule). The effect is F1 with every rule minus F1 without this one, per set and per half:
  positive helps. A rule helping one set while hurting the other is flagged.

Skips cleanly (exit 0) when the data is absent.

    .venv/bin/python bench/html_quality.py            # print
    .venv/bin/python bench/html_quality.py --write    # also update BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
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
from worker.pipeline.normalise.rules import BUILTIN_RULES, Rules, compile_rules, load_rule_file  # noqa: E402
from worker.pipeline.normalise.text import clean_text  # noqa: E402
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
HURTS = -0.0005  # an effect below this on a set or half counts as hurting it
TAILS = "tail_markers"


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


class Records:
    """Record bodies (the page's bytes through parse and normalise) with rules left out.

    The html rules are left out through ``html.py``'s own hooks (``_passes`` and ``_body`` take
    the rules to skip); the passes, the costly part, are kept per page and tree rules skipped.
    """

    def __init__(self) -> None:
        self._passes = ours._passes
        self._body = ours._body
        self._cache: dict[tuple[str, frozenset[str]], tuple] = {}

    @contextmanager
    def _skipping(self, skip: frozenset[str]) -> Iterator[None]:
        tree_skip = skip & frozenset(ours.TREE_RULES)

        def passes(html: str, _skip: frozenset[str] = frozenset()) -> tuple:
            key = (html, tree_skip)
            if key not in self._cache:
                self._cache[key] = self._passes(html, tree_skip)
            return self._cache[key]

        def body(precise, broad, links, title, _skip: frozenset[str] = frozenset()) -> str:  # noqa: ANN001
            return self._body(precise, broad, links, title, skip)

        ours._passes, ours._body = passes, body
        try:
            yield
        finally:
            ours._passes, ours._body = self._passes, self._body

    def document(self, page: Page, skip: frozenset[str] = frozenset()) -> Document | None:
        with self._skipping(skip):
            try:
                doc = parse(page.raw, f"{page.id}.html", max_decompressed_bytes=1 << 26)[0]
            except BadInput:
                return None
        return doc if isinstance(doc, Document) else None

    def forget(self, tree_skip: frozenset[str]) -> None:
        """Drop the kept passes of one tree-rule ablation (they are big)."""
        for key in [k for k in self._cache if k[1] == tree_skip]:
            del self._cache[key]


def body_of(doc: Document | None, rules: Rules | None = None) -> str:
    if doc is None:
        return ""
    try:
        return normalise(doc, rules).body
    except BadInput:
        return ""


def boilerplate_ablations() -> dict[str, tuple[Rules, Callable[[str], bool]]]:
    """Each named line rule of boilerplate.yaml (and the tail markers as one rule): the rules
    without it, and a test of whether it can touch a text at all (pages it cannot are left
    as they were, which keeps the ablation cheap)."""
    full = load_rule_file(BUILTIN_RULES)
    out = {}
    for name in dict.fromkeys(rule.name for rule in full.lines):
        kept = [rule for rule in full.lines if rule.name != name]
        patterns = [re.compile(rule.pattern, 0 if rule.case_sensitive else re.I)
                    for rule in full.lines if rule.name == name]
        out[name] = (compile_rules([full.model_copy(update={"lines": kept})]),
                     lambda text, ps=patterns: any(p.search(text) for p in ps))
    out[TAILS] = (compile_rules([full.model_copy(update={"tail_markers": []})]), lambda text: True)
    return out


def f1(pr: tuple[float, float]) -> float:
    return 2 * pr[0] * pr[1] / (pr[0] + pr[1]) if pr[0] + pr[1] else 0.0


def figures(scores: list[tuple[float, float]], pages: list[Page]) -> tuple[float, float, float, float, float]:
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
    records = Records()
    html_rules = {rule: frozenset({rule}) for rule in ours.RULES}
    boiler = boilerplate_ablations()

    scores: dict[tuple[str, str], list[tuple[float, float]]] = {}  # (name, set) -> per page
    ms: dict[tuple[str, str], float] = {}
    for set_name, pages in sets.items():
        for name, extract in extractors.items():
            start = time.process_time()
            scores[name, set_name] = [score(extract(pg), pg.truth) for pg in pages]
            ms[name, set_name] = (time.process_time() - start) * 1000 / len(pages)
            print(f"{set_name}: ran {name}", file=sys.stderr)
        start = time.process_time()
        docs = [records.document(pg) for pg in pages]
        bodies = [body_of(doc) for doc in docs]
        ms[RECORD, set_name] = (time.process_time() - start) * 1000 / len(pages)
        scores[RECORD, set_name] = [score(b, pg.truth) for b, pg in zip(bodies, pages)]
        for rule, skip in html_rules.items():
            scores[f"html:{rule}", set_name] = [
                score(body_of(records.document(pg, skip)), pg.truth) for pg in pages
            ]
            records.forget(skip & frozenset(ours.TREE_RULES))
        print(f"{set_name}: left out html rules", file=sys.stderr)
        for rule, (rules, touches) in boiler.items():
            scores[f"boilerplate:{rule}", set_name] = [
                score(body_of(doc, rules), pg.truth) if doc is not None and touches(clean_text(doc.text)) else s
                for doc, pg, s in zip(docs, pages, scores[RECORD, set_name])
            ]
        print(f"{set_name}: left out boilerplate rules", file=sys.stderr)
        records.forget(frozenset())

    body = report(sets, scores, ms, extractors, html_rules, boiler)
    print(body)
    if args.write:
        write_section("html-extraction", "HTML body extraction: per set and half, rules left out",
                      body, ".venv/bin/python bench/html_quality.py --write")
        print("BENCHMARKS.md updated (section html-extraction)")


def report(sets, scores, ms, extractors, html_rules, boiler) -> str:  # noqa: ANN001
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
            r = aggregate([scores[RECORD, set_name][i] for i in picked])[2]
            halves.append([set_name, h, len(picked), t, r, r - t])
    halves_table = table(["set", "half", "pages", "F1 plain trafilatura", "F1 record body", "Δ"], halves)

    def effects(key: str) -> list[float]:
        out = []
        for set_name in names:
            full = figures(scores[RECORD, set_name], sets[set_name])
            without = figures(scores[key, set_name], sets[set_name])
            out += [full[2] - without[2], full[3] - without[3], full[4] - without[4]]
        return out

    rule_rows, flagged = [], []
    keys = [f"html:{r}" for r in html_rules] + [f"boilerplate:{r}" for r in boiler]
    for key in keys:
        eff = effects(key)
        per_set = eff[0::3]
        if all(abs(e) < 1e-9 for e in eff):
            verdict = "no effect"
        elif min(eff) >= HURTS and min(per_set) > 1e-9:
            verdict = "helps both sets"
        elif min(eff) >= HURTS:
            verdict = "helps one set, neutral on the other"
        elif max(per_set) > 1e-9 and min(per_set) < HURTS:
            verdict = "**helps one set, hurts the other**"
        else:
            verdict = "**hurts a set or half**"
        if verdict.startswith("**"):
            flagged.append(key)
        rule_rows.append([key, *eff, verdict])
    headers = ["rule"]
    for set_name in names:
        headers += [f"Δ {set_name}", f"Δ {set_name} A", f"Δ {set_name} B"]
    rules_table = table(headers + ["verdict"], [r for r in rule_rows if r[-1] != "no effect"])
    silent = [r[0] for r in rule_rows if r[-1] == "no effect"]

    from importlib.metadata import version

    return f"""Record bodies (the page's bytes through parse and normalise, what the service writes) on
{" and ".join(f"`{s}` ({len(sets[s])} pages)" for s in names)}, next to plain trafilatura
{version("trafilatura")} in the same run. `benchmark`: the shared extraction benchmark, where the
rules were read; `wide`: extraction-wide (Dragnet test split, 2012, many sites; its gold keeps
headline, byline and date lines, so absolute F1 is lower there), never tuned on. Halves A and B
split each set by a stable hash of the page id (CRC-32 odd or even). Metric: the benchmark's
4-shingle metric (`bench/shingle_metric.py`: per-page normalised TP/FP/FN, P and R averaged
over pages, F1 of the two means; an empty prediction for a page with an article scores 0).

### Extractors

{main_table}

### Halves

{halves_table}

### Rules left out one at a time (record body)

Δ = F1 with every rule minus F1 without this one (positive: the rule helps), per set and half.
`html:` rules are `worker/pipeline/parse/html.py`'s (`RULES`); `boilerplate:` rules are the
named line rules of `worker/pipeline/normalise/boilerplate.yaml` (`tail_markers`: its trailing
link-block markers, as one rule). "Hurts" means Δ below {HURTS} on a set or a half. A
boilerplate rule is re-run only on pages whose cleaned text it can match at all.

{rules_table}

Rules with no effect on any page of either set: {", ".join(f"`{s}`" for s in silent) or "none"}.

Flagged (help one set or half and hurt another, or only hurt): {", ".join(f"`{s}`" for s in flagged) or "none"}.
"""


if __name__ == "__main__":
    main()

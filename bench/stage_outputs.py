"""Parse and normalise outputs, digested per record, and their CPU cost: proof that a speed-up
changed nothing, and what it saved.

Runs the parse and normalise stages over every input we have: the seeds, every file of
``tests/data/``, the benchmark corpus (``bench/corpus.py``, as ``bench/run.py`` samples it) and
both HTML sets of the shared data (pages as crawled). Each record (or failure) is digested field
by field, so a difference names the input and the field. ``--code DIR`` runs another tree's
``worker`` package (a checkout of main, say ``git archive main worker | tar -x -C DIR``) with this
script, so the two trees meet the same inputs in the same order.

    .venv/bin/python bench/stage_outputs.py --out /tmp/new.json            # digests + timing
    .venv/bin/python bench/stage_outputs.py --code /tmp/base --out /tmp/base.json
    .venv/bin/python bench/stage_outputs.py --compare /tmp/base.json /tmp/new.json
    .venv/bin/python bench/stage_outputs.py --against /tmp/base --rounds 3  # runs alternated
    .venv/bin/python bench/stage_outputs.py --paired /tmp/base [--write]     # inputs alternated

``--paired`` loads the other tree's ``worker`` beside this one (as ``baseline_worker``: its
imports are relative) and times the two on each input in turn, in alternating order, so that a
load change on the shared machine falls on both; it also checks their outputs are equal.
CPU is ``time.process_time`` of this process, per set, each set met with the page caches of
htmldate and trafilatura emptied (as a worker meets a page the first time). The HTML sets skip
cleanly where the shared data is absent (set ``INGEST_SHARED_DATA`` from a worktree).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("INGEST_SHARED_DATA", ROOT.parent / "shared" / "data"))
HTML_SETS = {"benchmark": SHARED / "extraction-benchmark", "wide": SHARED / "extraction-wide" / "dragnet"}
MAX = 1 << 26
CORPUS_FILES = 400  # bench/run.py's per-stage sample


def inputs(corpus_files: int) -> dict[str, list[tuple[str, bytes]]]:
    """(name, bytes) of every input, by set."""
    sys.path.insert(0, str(ROOT))
    from bench.corpus import generate

    sets: dict[str, list[tuple[str, bytes]]] = {}
    sets["seeds"] = [(p.name, p.read_bytes()) for p in sorted((ROOT / "seeds").iterdir()) if p.is_file()]
    sets["tests/data"] = [(str(p.relative_to(ROOT / "tests" / "data")), p.read_bytes())
                          for p in sorted((ROOT / "tests" / "data").rglob("*")) if p.is_file()]
    with tempfile.TemporaryDirectory(prefix="stage-outputs-") as tmp:
        corpus = generate(Path(tmp), corpus_files)
        sets["corpus"] = [(p.name, p.read_bytes()) for p in corpus.files]
    for name, data in HTML_SETS.items():
        if (data / "html").is_dir():
            sets[name] = [(p.name[: -len(".gz")], gzip.decompress(p.read_bytes()))
                          for p in sorted((data / "html").glob("*.html.gz"))]
    return sets


def cold_page_caches() -> None:
    """Empty the libraries' caches of page strings (see ``bench/html_quality.py``)."""
    from htmldate import extractors, validators
    from trafilatura import deduplication, utils

    for cached in (extractors.try_date_expr, validators._parse_and_validate,
                   validators.filter_ymd_candidate, deduplication.is_similar_domain,
                   utils.line_processing, utils.trim):
        cached.cache_clear()


def warm_date_parser() -> None:
    """Have dateparser compile every locale's patterns now, untimed: it does so the first time a
    string fails in all of them (seconds of CPU, once per process, as a running worker has
    done long before), which would land on whichever tree or set met such a string first."""
    from htmldate.extractors import get_external_parser

    get_external_parser().get_date_data("qqq 12 zzz 2019")


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _fields(model) -> dict[str, str]:  # noqa: ANN001 (a pydantic model)
    return {k: _digest(v) for k, v in model.model_dump(mode="json").items()}


def run(corpus_files: int) -> dict:
    """Digests of every record (by set, input and article), and CPU per set and stage."""
    from worker.errors import BadInput
    from worker.models import Document
    from worker.pipeline.normalise import normalise
    from worker.pipeline.parse import parse

    logging.disable(logging.WARNING)
    sets = inputs(corpus_files)
    warm_date_parser()
    # warm up imports and the libraries' tables (dateparser's locales), untimed
    for name, data in sets["tests/data"]:
        for doc in _parse(parse, name, data, BadInput):
            if isinstance(doc, Document):
                _normalise(normalise, doc, BadInput)
    digests: dict[str, dict[str, str]] = {}
    timing: dict[str, dict[str, float]] = {}
    for set_name, items in sets.items():
        cold_page_caches()
        parsed = []
        start = time.process_time()
        for name, data in items:
            parsed.append((name, _parse(parse, name, data, BadInput)))
        parse_cpu = time.process_time() - start
        docs = [d for _, ds in parsed for d in ds if isinstance(d, Document)]
        start = time.process_time()
        articles = [_normalise(normalise, d, BadInput) for d in docs]
        normalise_cpu = time.process_time() - start
        timing[set_name] = {"files": len(items), "documents": len(docs),
                            "parse_s": parse_cpu, "normalise_s": normalise_cpu}
        outputs = iter(articles)
        for name, ds in parsed:
            for n, d in enumerate(ds):
                key = f"{set_name}/{name}#{n}"
                if isinstance(d, Document):
                    out = next(outputs)
                    digests[key] = {**{f"doc.{k}": v for k, v in _fields(d).items()},
                                    **({"failure": _digest([out.kind, out.message])}
                                       if isinstance(out, BadInput) else _fields(out))}
                else:
                    digests[key] = {"failure": _digest([d.kind, d.message, d.line])}
    return {"digests": digests, "timing": timing}


def _parse(parse, name, data, bad):  # noqa: ANN001, ANN202
    try:
        return parse(data, name, max_decompressed_bytes=MAX)
    except bad as exc:
        return [exc]


def _normalise(normalise, doc, bad):  # noqa: ANN001, ANN202
    try:
        return normalise(doc)
    except bad as exc:
        return exc


def compare(a: dict, b: dict) -> int:
    """Print every input whose record differs (and in which fields); the count of them."""
    da, db = a["digests"], b["digests"]
    differ = 0
    for key in sorted(set(da) | set(db)):
        if key not in da or key not in db:
            print(f"{key}: only in {'the first' if key in da else 'the second'}")
            differ += 1
            continue
        fields = sorted(f for f in set(da[key]) | set(db[key]) if da[key].get(f) != db[key].get(f))
        if fields:
            print(f"{key}: {', '.join(fields)}")
            differ += 1
    print(f"{len(set(da) | set(db))} records compared, {differ} differ")
    return differ


def per_article(timing: dict) -> dict[str, tuple[float, float]]:
    """Set -> (parse, normalise) CPU µs per document."""
    return {s: (t["parse_s"] * 1e6 / max(1, t["documents"]), t["normalise_s"] * 1e6 / max(1, t["documents"]))
            for s, t in timing.items()}


def against(base: Path, rounds: int, corpus_files: int) -> None:
    """Time this tree and ``base`` in alternating runs; print medians and new/old ratios."""
    runs: dict[str, list[dict]] = {"base": [], "new": []}
    for r in range(rounds):
        for label, code in (("base", base), ("new", None)):
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                cmd = [sys.executable, __file__, "--out", out.name, "--corpus", str(corpus_files)]
                if code is not None:
                    cmd += ["--code", str(code)]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                runs[label].append(per_article(json.loads(Path(out.name).read_text())["timing"]))
            print(f"round {r + 1}: {label} done", file=sys.stderr)
    print("| set | parse µs base | parse µs new | new/base | normalise µs base | normalise µs new | new/base |")
    print("|---|---|---|---|---|---|---|")
    for s in runs["base"][0]:
        med = {lbl: [statistics.median(r[s][i] for r in runs[lbl]) for i in (0, 1)] for lbl in runs}
        print(f"| {s} | {med['base'][0]:,.0f} | {med['new'][0]:,.0f} | {med['new'][0] / med['base'][0]:.2f} "
              f"| {med['base'][1]:,.0f} | {med['new'][1]:,.0f} | {med['new'][1] / max(1e-9, med['base'][1]):.2f} |")


def paired(base: Path, corpus_files: int) -> tuple[str, int]:
    """Parse and normalise CPU of this tree and ``base`` per input, alternated; the table (new
    against base, per set) and how many outputs differ."""
    import importlib
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "baseline_worker", base / "worker" / "__init__.py", submodule_search_locations=[str(base / "worker")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_worker"] = module
    spec.loader.exec_module(module)
    sys.path.insert(0, str(ROOT))
    trees = {}
    for label, package in (("base", "baseline_worker"), ("new", "worker")):
        trees[label] = (importlib.import_module(f"{package}.pipeline.parse").parse,
                        importlib.import_module(f"{package}.pipeline.normalise").normalise,
                        importlib.import_module(f"{package}.errors").BadInput,
                        importlib.import_module(f"{package}.models").Document)
    logging.disable(logging.WARNING)
    sets = inputs(corpus_files)
    warm_date_parser()
    for parse, normalise, bad, document in trees.values():  # warm up, untimed
        for name, data in sets["tests/data"]:
            for doc in _parse(parse, name, data, bad):
                if isinstance(doc, document):
                    _normalise(normalise, doc, bad)
    rows, differ = [], 0
    for set_name, items in sets.items():
        cpu = {(label, stage): 0.0 for label in trees for stage in ("parse", "normalise")}
        documents = 0
        for n, (name, data) in enumerate(items):
            outputs = {}
            for label in (("base", "new") if n % 2 else ("new", "base")):
                parse, normalise, bad, document = trees[label]
                cold_page_caches()
                start = time.process_time()
                docs = _parse(parse, name, data, bad)
                cpu[label, "parse"] += time.process_time() - start
                start = time.process_time()
                out = [_normalise(normalise, d, bad) if isinstance(d, document) else d for d in docs]
                cpu[label, "normalise"] += time.process_time() - start
                outputs[label] = [_dump(d) for d in docs] + [_dump(o) for o in out]
                documents += sum(isinstance(d, document) for d in docs) if label == "new" else 0
            if outputs["base"] != outputs["new"]:
                differ += 1
                print(f"{set_name}/{name}: outputs differ", file=sys.stderr)
        row = [set_name, len(items), documents]
        for stage in ("parse", "normalise"):
            b, w = (cpu[label, stage] * 1e6 / max(1, documents) for label in ("base", "new"))
            row += [f"{b:,.0f}", f"{w:,.0f}", f"{w / b:.2f}" if b else "-"]
        rows.append(row)
        print(f"{set_name}: timed", file=sys.stderr)
    from bench._report import table

    return table(["set", "files", "documents", "parse µs base", "parse µs new", "new/base",
                  "normalise µs base", "normalise µs new", "new/base"], rows), differ


def _dump(value) -> object:  # noqa: ANN001 (a document, an article or a failure)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return [type(value).__name__, getattr(value, "kind", None), getattr(value, "message", None)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write digests and timing here (JSON)")
    parser.add_argument("--code", type=Path, help="import worker from this tree instead")
    parser.add_argument("--corpus", type=int, default=CORPUS_FILES, help="benchmark corpus files")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    parser.add_argument("--against", type=Path, help="time against this tree (interleaved)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paired", type=Path, help="time against this tree, input by input")
    parser.add_argument("--write", action="store_true", help="with --paired: update BENCHMARKS.md")
    args = parser.parse_args()
    if args.paired:
        body, differ = paired(args.paired, args.corpus)
        load = os.getloadavg()
        body += (f"\n\nCPU µs per document (`time.process_time`), each input parsed and normalised by "
                 f"both trees in turn, alternating which goes first, htmldate's and trafilatura's page "
                 f"caches emptied before each. Outputs differing: {differ}. Load average during the "
                 f"run: {load[0]:.1f} (the machine is shared: compare the ratios, not the figures).")
        print(body)
        if args.write:
            sys.path.insert(0, str(ROOT))
            from bench._report import write_section

            write_section("stage-outputs", "Parse and normalise: this tree against a baseline tree",
                          body, f".venv/bin/python bench/stage_outputs.py --paired {args.paired} --write")
            print("BENCHMARKS.md updated (section stage-outputs)")
        sys.exit(1 if differ else 0)
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        sys.exit(1 if compare(a, b) else 0)
    if args.against:
        against(args.against, args.rounds, args.corpus)
        return
    sys.path.insert(0, str(args.code or ROOT))
    result = run(args.corpus)
    import worker

    print(f"worker from {Path(worker.__file__).parent}", file=sys.stderr)
    for s, (p, n) in per_article(result["timing"]).items():
        t = result["timing"][s]
        print(f"{s}: {t['files']} files, {t['documents']} documents, parse {p:,.0f} µs, normalise {n:,.0f} µs")
    if args.out:
        args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()

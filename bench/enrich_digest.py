"""Enrichment digests: one sha256 per article and level, to prove a speed change left every
entity, quote, amount, date, keyword, summary and tone as it was.

Articles: the seeds, every parsable file under tests/data/, the articles of a generated
bench corpus (bench/corpus.py, fixed seed) and, when the shared data is here, the extraction
benchmark's hand-marked article bodies (what bench/enrich_quality.py reads). Each is enriched at `fast` and `full`; the digest is
of the enrichment's JSON. Write digests from one tree, then compare another tree against them:

    .venv/bin/python bench/enrich_digest.py --out /tmp/before.json [--tree /tmp/main-tree]
    .venv/bin/python bench/enrich_digest.py --compare /tmp/before.json

In a git worktree, point INGEST_SHARED_DATA at the shared data (bench/_report.py looks for it
beside the checkout), or the corpus is built from the seeds alone and the extraction bodies are
left out. `--tree` imports `worker` from another checkout (e.g. an export of main), so both sides run the
same article list. Exit status 1 when any digest differs; the differing articles are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX = 16 * 1024 * 1024


def articles(corpus_files: int) -> list[tuple[str, object]]:
    """(key, Article) for the seeds, tests/data files and a generated bench corpus."""
    from bench._report import EXTRACTION
    from bench.corpus import generate
    from worker.models import Article, Document
    from worker.pipeline.normalise import normalise
    from worker.pipeline.parse import parse

    sources: list[tuple[str, Path]] = [(f"seeds/{p.name}", p) for p in sorted((ROOT / "seeds").glob("*"))]
    sources += [(str(p.relative_to(ROOT)), p) for p in sorted((ROOT / "tests" / "data").rglob("*")) if p.is_file()]
    if corpus_files:
        out = Path(tempfile.mkdtemp(prefix="enrich-digest-"))
        sources += [(f"corpus/{p.name}", p) for p in generate(out, corpus_files).files]
    found: list[tuple[str, object]] = []
    for key, path in sources:
        try:
            docs = [d for d in parse(path.read_bytes(), path.name, max_decompressed_bytes=MAX) if isinstance(d, Document)]
        except Exception:
            continue
        for number, doc in enumerate(docs):
            try:
                article = normalise(doc)
            except Exception:
                continue
            if getattr(article, "body", None):
                found.append((f"{key}#{number}", article))
    truth = EXTRACTION / "ground-truth.json"
    if truth.exists():
        for key, item in sorted(json.loads(truth.read_text(encoding="utf-8")).items()):
            if item.get("articleBody"):
                found.append((f"extraction/{key}", Article(body=item["articleBody"])))
    return found


def digests(levels: list[str], corpus_files: int) -> dict[str, str]:
    from worker.pipeline.enrich import enrich

    result: dict[str, str] = {}
    for key, article in articles(corpus_files):
        for level in levels:
            enrichment = enrich(article, level)
            text = enrichment.model_dump_json()
            result[f"{level}:{key}"] = hashlib.sha256(text.encode()).hexdigest()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose `worker` is imported")
    parser.add_argument("--out", type=Path, help="write the digests here")
    parser.add_argument("--compare", type=Path, help="compare against digests written before")
    parser.add_argument("--corpus", type=int, default=300, help="bench corpus files to generate")
    parser.add_argument("--levels", default="fast,full")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # bench.corpus
    sys.path.insert(0, str(args.tree.resolve()))  # worker from the tree asked for
    import worker

    print(f"worker from {Path(worker.__file__).parent}", file=sys.stderr)
    found = digests(args.levels.split(","), args.corpus)
    print(f"{len(found)} digests", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(found, indent=0, sort_keys=True))
    if args.compare:
        before = json.loads(args.compare.read_text())
        missing = sorted(set(before) ^ set(found))
        changed = sorted(k for k in set(before) & set(found) if before[k] != found[k])
        for key in missing:
            print(f"only on one side: {key}")
        for key in changed:
            print(f"differs: {key}")
        print(f"{len(changed)} differ, {len(missing)} on one side only, of {len(before)}")
        sys.exit(1 if changed or missing else 0)


if __name__ == "__main__":
    main()

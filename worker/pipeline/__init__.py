"""The pipeline: ``parse -> normalise -> dedupe -> enrich -> stories``, one article at a time.

Each stage is a plain function over pydantic models in its own module; this module only chains
them, times them and turns a ``BadInput`` into a ``FailureRecord``. The Celery task and
``ingest process`` both call ``run``; sinks write what it returns. What any other exception of
one article becomes is the caller's to say (``on_error``): the service's policy decides it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from .. import __version__
from ..errors import BadInput
from ..models import (
    Document,
    EnrichLevel,
    Enrichment,
    ErrorInfo,
    FailureRecord,
    Outcome,
    PipelineInfo,
    Record,
    SourceFile,
    record_id,
)
from ..settings import Settings
from .budget import Deadline, first_words, too_long
from .dedupe import DedupIndex, Entry
from .enrich import enrich
from .normalise import normalise
from .normalise.rules import load_rules
from .parse import parse
from .stories import assign_story, story_vector


ENRICHED_FIELDS = tuple(name for name in Enrichment.model_fields if name != "level")  # copied onto the record

OnError = Callable[[SourceFile, Exception], Outcome]
"""What an exception other than ``BadInput`` raised by one article becomes, given that article's
source (its line, its format): its outcome, or the exception raised again."""


class _Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = round(self.ms.get(name, 0.0) + (time.perf_counter() - start) * 1e3, 3)


def run(source: SourceFile, data: bytes, index: DedupIndex, settings: Settings, *,
        first_line: int | None = None, on_error: OnError | None = None) -> list[Outcome]:
    """Every outcome of one input file: a record per article, or a failure record.

    ``first_line``: ``data`` is a slice of a big JSONL file or JSON array starting at that
    line or element (the service fans such files out, and a failed article is retried as a
    slice of one); each keeps its number in the whole file, and so its id.
    ``on_error``: what an unforeseen exception of one article becomes, so that the file's other
    articles still get theirs; without it the exception propagates. One raised while reading
    the file itself (parse) always propagates: no article has a place yet. An article indexed by
    dedupe that does not end as a record leaves no entry behind (``process_document``), nor do
    the file's records when an exception ends the whole file.
    """
    timer = _Timer()
    deadline = Deadline(settings.article_seconds)  # a file of one article: its parse counts too
    try:
        size = max(source.size, len(data))  # a message's claimed size is not trusted alone
        if size > settings.max_file_bytes:
            raise BadInput(
                "too_large",
                f"the file is {size} bytes, over the {settings.max_file_bytes}-byte limit",
            )
        with timer.stage("parse"):
            documents = parse(data, source.name, max_decompressed_bytes=settings.max_decompressed_bytes,
                              rules=load_rules(settings.boilerplate_file), check=deadline.check,
                              max_articles=settings.max_articles, sliced=first_line is not None)
    except BadInput as exc:
        return [failure(source, exc, settings.enrich)]
    entered: list[Entry] = []  # the dedup entries of this file's records so far
    try:
        return _each_article(source, documents, index, settings, timer, deadline, first_line, on_error, entered)
    except Exception:
        # Raised out of the file (the task's time limit ends the whole slice as one failure; Redis
        # away is retried): none of its records will be delivered from this run.
        _withdraw(index, entered, 0)
        raise


def _each_article(source: SourceFile, documents: list[Document | BadInput], index: DedupIndex,
                  settings: Settings, timer: _Timer, deadline: Deadline, first_line: int | None,
                  on_error: OnError | None, entered: list[Entry]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for doc in documents:
        if first_line is not None and first_line > 1 and doc.line is not None:
            doc = _renumbered(doc, doc.line + first_line - 1)
        if isinstance(doc, BadInput):
            outcomes.append(failure(source.model_copy(update={"line": doc.line}), doc, settings.enrich))
            continue
        if len(documents) > 1:
            deadline = Deadline(settings.article_seconds)
        doc_timer = _Timer()  # each record's own stage times, beside the file's parse time
        doc_timer.ms = dict(timer.ms)
        try:
            outcomes.append(process_document(source, doc, index, settings, doc_timer, deadline, entered))
        except Exception as exc:
            if on_error is None:
                raise
            outcomes.append(on_error(article_source(source, doc), exc))
    return outcomes


def _withdraw(index: DedupIndex, entered: list[Entry], start: int) -> None:
    """Withdraw the dedup entries ``entered[start:]`` (and drop them from the list): their
    articles will not be delivered as records. A Redis error propagates: the message is retried."""
    while len(entered) > start:
        index.forget(entered[-1])
        entered.pop()


def _renumbered(doc: Document | BadInput, line: int) -> Document | BadInput:
    if isinstance(doc, BadInput):
        return BadInput(doc.kind, re.sub(r"^(line|article) \d+", rf"\g<1> {line}", doc.message), line=line)
    return doc.model_copy(update={"line": line})


def process_document(
    source: SourceFile, doc: Document, index: DedupIndex, settings: Settings, timer: _Timer,
    deadline: Deadline | None = None, entered: list[Entry] | None = None,
) -> Outcome:
    """One parsed document through normalise, dedupe, enrich and stories, within the word
    limit and the time budget of one article (see ``budget.py``).

    Dedupe indexes an original before enrichment: if the article then ends as a failure record
    or raises (whatever ``on_error`` makes of it, or a retry), its entry is withdrawn here, the
    one place both pass, so no later copy is linked to a record never written. A Redis error
    withdrawing it propagates (the message is retried). A record's entry is added to
    ``entered``, for the caller to withdraw should the record not be delivered after all."""
    entered = [] if entered is None else entered
    made = len(entered)
    outcome: Outcome | None = None
    try:
        outcome = _article_outcome(source, doc, index, settings, timer, deadline, entered)
        return outcome
    finally:
        if not isinstance(outcome, Record):
            _withdraw(index, entered, made)


def _article_outcome(
    source: SourceFile, doc: Document, index: DedupIndex, settings: Settings, timer: _Timer,
    deadline: Deadline | None, entered: list[Entry],
) -> Outcome:
    """``process_document``'s work; the article's own dedup entry, once made, is put in ``entered``."""
    src = article_source(source, doc)
    rid = record_id(source.sha256, doc.line)
    check = (deadline or Deadline(settings.article_seconds)).check
    try:
        if (long := too_long(doc.text, settings.max_words)) is not None:
            raise long
        check("parse")
        with timer.stage("normalise"):
            article = normalise(doc, load_rules(settings.boilerplate_file))
        check("normalise")
        with timer.stage("dedupe"):
            dedup, entry = index.check_and_insert_entry(index.fingerprint(article), rid)
        if entry is not None:
            entered.append(entry)
        # A long body is kept whole; enrichment reads its first words (the record says so).
        window = first_words(article.body, settings.enrich_words)
        with timer.stage("enrich"):
            enrichment = enrich(
                article if window is None else article.model_copy(update={"body": window}),
                enrich_level(settings.enrich, article.language),
                spacy_model=settings.spacy_model, alias_file=settings.alias_file, check=check,
            )
    except BadInput as exc:
        return failure(src, exc, settings.enrich)
    with timer.stage("stories"):  # after enrich (it reads entities); one atomic step in Redis
        story = assign_story(index.redis, settings, article, enrichment, rid, dedup, src.received_at)
    return Record(
        id=rid,
        source=src,
        **article.model_dump(),
        truncated=window is not None,
        dedup=dedup,
        **{field: getattr(enrichment, field) for field in ENRICHED_FIELDS},
        story=story,
        pipeline=PipelineInfo(version=__version__, enrich=enrichment.level, timings_ms=dict(timer.ms)),
    )


def article_source(source: SourceFile, doc: Document) -> SourceFile:
    """The source as one article's outcome names it: its line, format, encoding, compression."""
    return source.model_copy(update={
        "format": doc.format, "encoding": doc.encoding, "compression": doc.compression,
        "line": doc.line,
    })


def enrich_level(level: EnrichLevel, language: str | None) -> EnrichLevel:
    """The English NER model reads only English: other languages get `fast` (the record says so)."""
    return "fast" if level == "full" and language not in (None, "en") else level


_WARM_UP_TEXT = """Talks resume in Geneva

GENEVA, March 3 (Reuters) - President Joe Biden said on Monday that the $5 million plan
"will work", according to officials of the United Nations in New York.
"""


# An HTML page whose date line no language's parser reads: dateparser builds its patterns for
# every language the first time a string fails in all of them (about 2.4 s of CPU), which each
# pool process would otherwise pay on one of its first HTML pages.
_WARM_UP_PAGE = (
    "<html><head><title>Talks resume in Geneva</title></head><body><article>"
    "<p>on Tuesday March 3, @09:04AM</p>"
    f"<p>{' '.join(_WARM_UP_TEXT.split()[4:])}</p></article></body></html>"
).encode()


def warm_up(settings: Settings) -> None:
    """Load every model and table the stages use (HTML reader and its date parser, language,
    NER, IDF) before the first real article: in the worker's parent, before the pool forks."""
    parse(_WARM_UP_PAGE, "warm-up.html", max_decompressed_bytes=settings.max_decompressed_bytes,
          rules=load_rules(settings.boilerplate_file))
    doc = Document(text=_WARM_UP_TEXT, format="txt", encoding="utf-8")
    article = normalise(doc, load_rules(settings.boilerplate_file))
    story_vector(article, enrich(article, settings.enrich, spacy_model=settings.spacy_model, alias_file=settings.alias_file))


def failure(source: SourceFile, exc: BadInput, level: EnrichLevel = "off") -> FailureRecord:
    return FailureRecord(
        id=record_id(source.sha256, source.line),
        source=source,
        error=ErrorInfo(type=exc.kind, message=exc.message),
        failed_at=datetime.now(timezone.utc),
        pipeline=PipelineInfo(version=__version__, enrich=level),
    )

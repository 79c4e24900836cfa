"""The statistical NER model: loaded once per process, lazily, with only what NER needs.

Everything but the entity recogniser and the shared token-to-vector layer is excluded at load
time (not just disabled); the shared layer is then dropped too unless the recogniser listens
to it. In the small English models it does not: their `ner` embeds its own tok2vec, and the
shared one feeds only the tagger and parser, so running it cost about a third of the model's
time for nothing (same entities without it).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

NER_COMPONENTS = frozenset({"tok2vec", "transformer", "ner"})
CHUNK_CHARS = 20_000  # long bodies go through nlp.pipe in paragraph-aligned chunks


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    label: str


def _pipeline_names(model: str) -> list[str]:
    """Component names from the installed package's meta.json, read without loading weights."""
    package = Path(importlib.import_module(model).__file__).parent
    for meta in [package / "meta.json", *package.glob("*/meta.json")]:
        if meta.exists():
            return list(json.loads(meta.read_text(encoding="utf-8")).get("pipeline", []))
    return []


@lru_cache(maxsize=2)
def load_model(model: str):  # -> spacy.Language (spaCy imported lazily: `fast` never pays for it)
    """The named spaCy pipeline with every component but tok2vec/transformer/ner excluded, and
    a shared tok2vec/transformer removed when `ner` does not listen to it."""
    import spacy

    exclude = [name for name in _pipeline_names(model) if name not in NER_COMPONENTS]
    return drop_unheard(spacy.load(model, exclude=exclude))


def drop_unheard(nlp):  # spacy.Language -> the same, without layers whose output nobody reads
    """Remove each shared embedding layer (tok2vec, transformer) that `ner` does not listen to."""
    for name in [n for n in nlp.pipe_names if n != "ner"]:
        if "ner" not in getattr(nlp.get_pipe(name), "listening_components", ["ner"]):
            nlp.remove_pipe(name)
    return nlp


def chunks(text: str, size: int = CHUNK_CHARS) -> Iterator[tuple[int, str]]:
    """(offset, piece) pieces of at most about `size` characters, cut at line breaks."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        yield start, text[start:end]
        start = end


def mentions_from_docs(docs: Iterable, offsets: Iterable[int]) -> list[Mention]:
    return [
        Mention(offset + ent.start_char, offset + ent.end_char, ent.text, ent.label_)
        for doc, offset in zip(docs, offsets)
        for ent in doc.ents
    ]


def ner_mentions(text: str, model: str, check: Callable[[str], None] = lambda stage: None) -> list[Mention]:
    """Every entity span the model finds in `text`, with offsets into `text`; `check` (the
    article's time budget) is called before each chunk. Chunks go through the model one at a
    time and only their mentions are kept, so memory stays at one chunk's whatever the length."""
    nlp = load_model(model)
    found: list[Mention] = []
    for offset, piece in chunks(text):
        check("enrich (ner)")
        found += mentions_from_docs([nlp(piece)], [offset])
    return found

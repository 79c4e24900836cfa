"""Language identification of a body, by py3langid (model ships in the package)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when too short or too unsure to tell."""
    sample = text[:2000]
    if len(sample.split()) < 3:
        return None
    code, probability = _identifier().classify(sample)
    return code if probability >= 0.5 else None

"""An injected fault: enrichment raises on an article titled ``CRASHES``, for the tests of what
one article's unforeseen exception becomes.

No input we know crashes a stage any more: each one found was fixed (the last, an export's
"no date" 0001-01-01, crashed enrichment's date resolution). So the fault is put in, as the
fault tests kill processes: in a test's own process with ``monkeypatch.setattr(pipeline,
"enrich", crashing(pipeline.enrich))``, and in `ingest` processes by starting them as
``python -m tests.crashing_stage ARGS`` (`ingest ARGS` with the fault; a worker's pool processes
fork from it and keep it).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

CRASHES = "Crashes enrichment"
MESSAGE = "RuntimeError: injected fault: enrichment raises on this article"


def raising(enrich: Callable[..., Any], when: Callable[[Any], bool], error: BaseException) -> Callable[..., Any]:
    """``enrich``, raising ``error`` on each article ``when`` says."""
    @functools.wraps(enrich)
    def enrich_or_raise(article: Any, *args: Any, **kwargs: Any) -> Any:
        if when(article):
            raise error
        return enrich(article, *args, **kwargs)
    return enrich_or_raise


def crashing(enrich: Callable[..., Any]) -> Callable[..., Any]:
    return raising(enrich, lambda article: article.title == CRASHES,
                   RuntimeError("injected fault: enrichment raises on this article"))


if __name__ == "__main__":
    from worker import pipeline
    from worker.cli import main

    pipeline.enrich = crashing(pipeline.enrich)  # type: ignore[assignment]
    sys.argv[0] = "ingest"
    main()

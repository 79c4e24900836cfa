"""Sinks: where outcomes land. JSON files in a folder (``files``), PostgreSQL (``postgres``),
a Redis stream of events (``stream``); ``INGEST_SINKS`` chooses, ``write_all`` writes them all."""

from .base import Sink, write_all
from .files import outcome_path, write_outcome

__all__ = ["Sink", "outcome_path", "write_all", "write_outcome"]

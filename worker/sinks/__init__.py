"""Sinks: where outcomes land. Today, one JSON file per record in a folder (``files``)."""

from .files import outcome_path, write_outcome

__all__ = ["outcome_path", "write_outcome"]

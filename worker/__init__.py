"""article-ingest: an event-driven ingestion service for news articles."""

__version__ = "0.1.0"

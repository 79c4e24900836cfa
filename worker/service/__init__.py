"""The service around the pipeline: the Celery app and task, `ingest process`, delivery of
outcomes to the sinks, the embedded Redis, metrics and logs. All I/O but the sinks' lives here."""

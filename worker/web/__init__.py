"""The web view of the ingest (`ingest web`): live counters, records, duplicates, entities, failures."""

-- For the web view: the overview's outcomes per minute and latest arrivals (by stored_at and
-- failed_at), and the records page's source filter. Numbered apart from the store's own series.
CREATE INDEX records_stored_at ON records (stored_at) INCLUDE (dedup_status);
CREATE INDEX records_site ON records (site);
CREATE INDEX failures_failed_at ON failures (failed_at);

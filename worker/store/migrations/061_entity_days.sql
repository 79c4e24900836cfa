-- "Who is in the news" per day: how many original records (dedup status unique) named each
-- entity on each day (of publication, else of receipt, in UTC), and how many times. The web
-- view's top lists sum a period's days (tens of thousands of rows) instead of joining every
-- mention of the period with its record (half a million rows for 100,000 records). Writers add
-- to it in the statement that inserts the records, for the records that were new, so it stays
-- exactly the count over mentions.
CREATE TABLE entity_days (
    day      date    NOT NULL,
    kind     text    NOT NULL,
    name     text    NOT NULL,
    records  integer NOT NULL,
    mentions integer NOT NULL,
    PRIMARY KEY (day, kind, name)
);
INSERT INTO entity_days (day, kind, name, records, mentions)
SELECT (coalesce(r.published_at, r.received_at) AT TIME ZONE 'UTC')::date, m.kind, m.name, count(*), sum(m.count)
FROM mentions m JOIN records r ON r.id = m.record_id AND r.dedup_status = 'unique'
GROUP BY 1, 2, 3;

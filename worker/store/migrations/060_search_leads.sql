-- Search, fast whatever the query matches (see worker/store/queries.py).
--
-- Ranking reads a small vector per candidate: the title (weight A) and the body's first 600
-- characters (B), kept inside its row (under 1.1 kB, never TOASTed). Ranking with the whole-body
-- vector read each candidate's ~4 kB of TOAST, about 7 times the cost. Matching still uses the
-- whole-body vector and its GIN index: every word of an article finds it; the headline and lead
-- rank it (the news puts what an article is about there), the newer first among equals.
CREATE FUNCTION search_lead(title text, body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
           setweight(to_tsvector('english', left(coalesce(body, ''), 600)), 'B');

CREATE TABLE leads (
    id   text PRIMARY KEY REFERENCES records (id) ON DELETE CASCADE,
    lead tsvector NOT NULL
);
ALTER TABLE leads ALTER COLUMN lead SET STORAGE MAIN;  -- compressed in the row if need be, not TOASTed
INSERT INTO leads (id, lead) SELECT id, search_lead(title, record->>'body') FROM records;

-- The day of the N-th newest record by an index-only scan (its columns are in the index): the
-- cut-off of search's window of the newest records. It replaces records_day.
CREATE INDEX records_day_covering ON records ((coalesce(published_at, received_at)))
    INCLUDE (published_at, received_at);
DROP INDEX records_day;

-- The records page's source filter (site OR file name) as one BitmapOr that search can AND with
-- its GIN match, rather than a test of every match's row.
CREATE INDEX records_source_name ON records (source_name);

-- An entity's mentions from the index alone (index-only scans): the records-by-entity filter and
-- the entity page read a few hundred index entries instead of as many scattered heap pages.
CREATE INDEX mentions_name_covering ON mentions (lower(name)) INCLUDE (kind, name, record_id, count);
DROP INDEX mentions_name;

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

-- Snippets: the parts of a body around the first occurrence of each word of a query (300
-- characters each side, overlaps merged, cut at spaces), else its start. ts_headline re-parses
-- all the text it is given (about a millisecond for an article): it gets these instead. A stem is
-- mostly a prefix of its words (`missil`); when it is not (`polici`), its last letter is dropped.
-- (Positions are found in ' ' || lower(body), so a position there is the word's in the body.)
CREATE FUNCTION search_passages(body text, query tsquery, width integer DEFAULT 300) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    folded text := ' ' || lower(body);  -- a word starts after a space (or is found anywhere)
    starts integer[] := '{}';
    term text;
    stem text;
    found integer;
    s integer;
    e integer;
    result text[] := '{}';
    span_start integer;
    span_end integer;
BEGIN
    FOR term IN SELECT replace(m[1], '''''', '''') FROM regexp_matches(querytree(query)::text, '''((?:[^'']|'''')*)''', 'g') AS m LOOP
        FOREACH stem IN ARRAY ARRAY[term, left(term, -1)] LOOP
            CONTINUE WHEN length(stem) < 2;
            found := strpos(folded, ' ' || stem);  -- strpos, not a regular expression: 3 times faster
            IF found = 0 THEN
                found := greatest(strpos(folded, stem) - 1, 0);
            END IF;
            IF found > 0 THEN
                starts := starts || found;
                EXIT;
            END IF;
        END LOOP;
    END LOOP;
    IF cardinality(starts) = 0 THEN
        RETURN left(body, 2 * width);
    END IF;
    FOR found IN SELECT unnest(starts) ORDER BY 1 LOOP
        s := greatest(1, found - width);
        e := least(length(body) + 1, found + width);
        IF span_end IS NOT NULL AND s <= span_end THEN
            span_end := greatest(span_end, e);
        ELSE
            IF span_end IS NOT NULL THEN
                result := result || search_whole_words(body, span_start, span_end);
            END IF;
            span_start := s;
            span_end := e;
        END IF;
    END LOOP;
    result := result || search_whole_words(body, span_start, span_end);
    RETURN array_to_string(result, E'\n');
END $$;

-- body's characters [s, e) (1-based) without the partial words at either edge.
CREATE FUNCTION search_whole_words(body text, s integer, e integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    piece text := substr(body, s, e - s);
    space integer;
BEGIN
    IF s > 1 THEN
        space := strpos(piece, ' ');
        IF space > 0 THEN piece := substr(piece, space + 1); END IF;
    END IF;
    IF e <= length(body) THEN
        space := length(piece) - strpos(reverse(piece), ' ') + 1;
        IF strpos(piece, ' ') > 0 THEN piece := left(piece, space - 1); END IF;
    END IF;
    RETURN piece;
END $$;

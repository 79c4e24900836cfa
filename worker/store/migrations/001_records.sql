-- Records, failures and entity mentions. One row per outcome id: writers insert with
-- ON CONFLICT (id) DO NOTHING, so workers on many hosts share the store with exactly-once rows.

CREATE TABLE records (
    id            text PRIMARY KEY,
    source_name   text NOT NULL,
    source_path   text NOT NULL,
    source_sha256 text NOT NULL,
    url           text,
    site          text,
    title         text,
    published_at  timestamptz,
    received_at   timestamptz NOT NULL,
    dedup_status  text NOT NULL,
    duplicate_of  text,
    language      text,
    word_count    integer NOT NULL,
    record        jsonb NOT NULL,
    -- title weighs more than body in the ranking
    search        tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
                      setweight(to_tsvector('english', coalesce(record->>'body', '')), 'B')
                  ) STORED,
    stored_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX records_search ON records USING gin (search);
CREATE INDEX records_day ON records ((coalesce(published_at, received_at)));
CREATE INDEX records_duplicate_of ON records (duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE failures (
    id            text PRIMARY KEY,
    source_name   text NOT NULL,
    source_path   text NOT NULL,
    source_sha256 text NOT NULL,
    received_at   timestamptz NOT NULL,
    error_type    text NOT NULL,
    error_message text NOT NULL,
    failed_at     timestamptz NOT NULL,
    record        jsonb NOT NULL
);

-- "Who is in the news": one row per record and canonical entity.
CREATE TABLE mentions (
    record_id text NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    kind      text NOT NULL,
    name      text NOT NULL,
    count     integer NOT NULL,
    PRIMARY KEY (record_id, kind, name)
);
CREATE INDEX mentions_name ON mentions (lower(name));

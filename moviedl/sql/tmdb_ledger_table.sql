-- ingest-tmdb ledger: one row per recorded entry (see moviedl/stages/tmdb/ledger.py).
CREATE OR REPLACE TABLE ledger (
    imdb_id    VARCHAR,
    status     VARCHAR,  -- fetched | not_found | failed | file (an adopted file without ids)
                         -- | sync (a changes-feed sync began) | synced (it ended: every change stored)
    media_type VARCHAR,  -- movie | tv
    tmdb_id    BIGINT,
    date       DATE,     -- the ingestion date (the Raw folder of `file`)
    file       VARCHAR,  -- lake key of the Raw TMDB JSON file holding the record
    recorded_at VARCHAR, -- when it was fetched / recorded (UTC, ISO 8601)
    error      VARCHAR,  -- why a lookup failed (redacted)
    window_start DATE,   -- sync / synced: the window of TMDB's change lists (inclusive);
    window_end   DATE    -- recorded_at is when the sync began
);

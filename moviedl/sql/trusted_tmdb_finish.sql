-- After trusted_tmdb_movies.sql / trusted_tmdb_series.sql: split tmdb_typed into the records
-- that cannot be typed (tmdb_quarantine) and one row per IMDb id (tmdb_distinct): when a title
-- was fetched more than once, the latest fetched_at wins, then the later file / record.
CREATE OR REPLACE TEMP TABLE tmdb_quarantine AS
SELECT t.filename, t.record AS line, CAST(r.json AS VARCHAR) AS raw, t.reason
FROM tmdb_typed AS t JOIN tmdb_raw AS r USING (seq)
WHERE t.reason IS NOT NULL;

CREATE OR REPLACE TEMP TABLE tmdb_distinct AS
SELECT * EXCLUDE (filename, record, reason, keep)
FROM (
    SELECT *, row_number() OVER (PARTITION BY imdb_id ORDER BY fetched_at DESC NULLS LAST, seq DESC) AS keep
    FROM tmdb_typed
    WHERE reason IS NULL
)
WHERE keep = 1;

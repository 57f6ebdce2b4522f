-- ingest-tmdb, changes feed: the titles the lake holds TMDB records of (Raw files present), each
-- with its TMDB media type and id (of its latest fetch), when it was last fetched, and the day
-- from which TMDB's change lists must be read for it: the later of that fetch's day and the end
-- of the last completed sync ($last_end, NULL if none).
CREATE OR REPLACE TABLE lake_ids AS
SELECT
    imdb_id,
    media_type,
    tmdb_id,
    last_fetch,
    greatest(coalesce(CAST(timezone('UTC', last_fetch) AS DATE), DATE '1970-01-01'),
             coalesce(CAST($last_end AS DATE), DATE '1970-01-01')) AS covered_since
FROM (
    SELECT imdb_id,
           arg_max(media_type, TRY_CAST(recorded_at AS TIMESTAMPTZ)) AS media_type,
           arg_max(tmdb_id, TRY_CAST(recorded_at AS TIMESTAMPTZ)) AS tmdb_id,
           max(TRY_CAST(recorded_at AS TIMESTAMPTZ)) AS last_fetch
    FROM ledger
    WHERE status = 'fetched' AND tmdb_id IS NOT NULL AND media_type IS NOT NULL
    GROUP BY imdb_id
);

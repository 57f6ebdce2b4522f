-- ingest-tmdb, changes feed: the lake's titles a sync fetches again: those TMDB's change lists
-- name (table `changed`: media_type, tmdb_id; an id listed twice counts once), and those whose
-- changes are older than the window ($start) can show (covered_since < $start: a gap).
--   state since_began  fetched (or found gone) since the sync began ($began): an interrupted
--                      sync resumed does not fetch again what it stored (nor this run's new ids)
--         this_date    already stored for the run's date ($date), before: one record per id and date
--         todo         to fetch now
CREATE OR REPLACE TABLE sync_todo AS
WITH listed AS (
    SELECT DISTINCT media_type, tmdb_id FROM changed
),
now_known AS (
    SELECT imdb_id,
           bool_or(status = 'fetched' AND date = $date) AS this_date,
           coalesce(max(TRY_CAST(recorded_at AS TIMESTAMPTZ)) >= CAST($began AS TIMESTAMPTZ), false) AS since_began
    FROM ledger
    WHERE status IN ('fetched', 'not_found')
    GROUP BY imdb_id
)
SELECT
    l.imdb_id,
    l.media_type,
    l.tmdb_id,
    s.tmdb_id IS NOT NULL AS listed,
    CASE WHEN k.since_began THEN 'since_began' WHEN k.this_date THEN 'this_date' ELSE 'todo' END AS state
FROM lake_ids AS l
LEFT JOIN listed AS s USING (media_type, tmdb_id)
LEFT JOIN now_known AS k USING (imdb_id)
WHERE s.tmdb_id IS NOT NULL OR l.covered_since < $start;

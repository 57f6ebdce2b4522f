-- ingest-tmdb: the titles that pass the filters, each with what the ledger says about it.
--   present          fetched for this date, or on another date (unless $refresh)
--   not_found_before TMDB did not know it last time (unless $retry_not_found)
--   todo             to be looked up now
-- A genre filter matches when the title has any of the $genres (lower case).
CREATE OR REPLACE TABLE candidates AS
WITH picked AS (
    SELECT imdb_id, min(kind) AS kind  -- an id in both CSVs is looked up once
    FROM titles
    WHERE regexp_full_match(imdb_id, 'tt[0-9]+')
      AND ($genres IS NULL OR len(list_intersect(
              list_transform(string_split(lower(coalesce(genres, '')), ','), lambda g: trim(g)),
              $genres)) > 0)
      AND ($year_from IS NULL OR release_year >= $year_from)
      AND ($year_to IS NULL OR release_year <= $year_to)
      AND ($min_votes IS NULL OR votes >= $min_votes)
      AND (NOT $only_listed OR imdb_id IN (SELECT imdb_id FROM wanted))
    GROUP BY imdb_id
),
known AS (
    SELECT
        imdb_id,
        bool_or(status = 'fetched' AND date = $date) AS fetched_this_date,
        bool_or(status = 'fetched') AS fetched_ever,
        bool_or(status = 'not_found') AS not_found
    FROM ledger
    GROUP BY imdb_id
)
SELECT
    p.imdb_id,
    p.kind,
    CASE
        WHEN k.fetched_this_date THEN 'present'
        WHEN k.fetched_ever AND NOT $refresh THEN 'present'
        WHEN k.not_found AND NOT $retry_not_found THEN 'not_found_before'
        ELSE 'todo'
    END AS state
FROM picked AS p
LEFT JOIN known AS k USING (imdb_id);

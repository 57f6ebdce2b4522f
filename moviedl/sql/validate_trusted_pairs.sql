-- validate: the (title, genre) pairs FatoFilme must hold, from Trusted. Inputs: the views
-- in_movies, in_series (refined.register_inputs: every partition, rows tagged with dt).
-- The same rules as refined.sql: a title's latest snapshot (the latest dt holding it), its
-- genres taken from the smallest (title_type, title, ...) row of that snapshot (step 2 there),
-- '(unknown)' for a title without genres, genres grouped by norm() (norm.sql) as DimGenero does.

CREATE OR REPLACE TEMP TABLE v_trusted_pairs AS
WITH all_rows AS (
    SELECT 'movie' AS title_type, dt, imdb_id, title, original_title, release_year,
           CAST(NULL AS INTEGER) AS end_year, runtime_minutes, imdb_rating, imdb_votes, genres
    FROM in_movies
    UNION ALL
    SELECT 'series' AS title_type, dt, imdb_id, title, original_title, release_year,
           end_year, runtime_minutes, imdb_rating, imdb_votes, genres
    FROM in_series
),
titles AS (
    -- One aggregation does both steps: the latest dt first (its day number negated, so the
    -- smallest tuple is the latest snapshot's), then refined.sql's smallest tuple within it.
    SELECT imdb_id,
           min(struct_pack(latest := -(CAST(dt AS DATE) - DATE '1970-01-01'), title_type, title,
                           original_title, release_year, end_year, runtime_minutes, imdb_rating,
                           imdb_votes, genres)).genres AS genres
    FROM all_rows
    GROUP BY imdb_id
)
SELECT DISTINCT imdb_id, norm(genre) AS genre_key
FROM (
    SELECT imdb_id, unnest(CASE WHEN len(genres) > 0 THEN genres ELSE ['(unknown)'] END) AS genre
    FROM titles
);

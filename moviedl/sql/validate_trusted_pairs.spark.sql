-- Spark's text of validate_trusted_pairs.sql (see moviedl.engines.base.sql_for): the same pairs.
-- As in refined.spark.sql: min(struct_pack(...)) becomes min_by over a key struct in which each
-- field is preceded by its IS NULL flag (DuckDB orders NULL after values, Spark before); norm()
-- comes from norm.spark.sql.

CREATE OR REPLACE TEMP TABLE v_trusted_pairs AS
WITH all_rows AS (
    SELECT 'movie' AS title_type, dt, imdb_id, title, original_title, release_year,
           CAST(NULL AS INT) AS end_year, runtime_minutes, imdb_rating, imdb_votes, genres
    FROM in_movies
    UNION ALL
    SELECT 'series' AS title_type, dt, imdb_id, title, original_title, release_year,
           end_year, runtime_minutes, imdb_rating, imdb_votes, genres
    FROM in_series
),
latest AS (SELECT imdb_id, max(dt) AS dt FROM all_rows GROUP BY imdb_id),
titles AS (
    SELECT imdb_id,
           min_by(genres,
                  struct(title_type IS NULL, title_type, title IS NULL, title,
                         original_title IS NULL, original_title, release_year IS NULL, release_year,
                         end_year IS NULL, end_year, runtime_minutes IS NULL, runtime_minutes,
                         imdb_rating IS NULL, imdb_rating, imdb_votes IS NULL, imdb_votes,
                         genres IS NULL, genres)) AS genres
    FROM all_rows JOIN latest USING (imdb_id, dt)
    GROUP BY imdb_id
)
SELECT DISTINCT imdb_id, norm(genre) AS genre_key
FROM (
    SELECT imdb_id, explode(CASE WHEN size(genres) > 0 THEN genres ELSE array('(unknown)') END) AS genre
    FROM titles
);

-- Spark's text of refined.sql (see moviedl.engines.base.sql_for): the same views and tables, the same
-- rows, the same keys. Change both files together; tests/test_spark_engine.py proves them equal.
-- What differs, and why:
--   * DuckDB orders NULL after every value inside a struct or list (so min(struct_pack(...))
--     and arg_max(.., struct_pack(...)) prefer values, and arg_max prefers a NULL death_year);
--     Spark orders NULL first. Each choice is min_by/max_by over a key struct in which every
--     field is preceded by its IS NULL flag, which orders as DuckDB does;
--   * unnest(struct) becomes a struct column expanded with .*;
--   * stable_key: DuckDB casts '0x' || hex to BIGINT; Spark converts the 15 hex digits with conv();
--   * integer division: DIV; len(list): size (NULL lists give -1 or NULL: both "no genre").
-- trim, lower and nfc_normalize mean what they mean in DuckDB (the engine's rules).

CREATE OR REPLACE TEMP MACRO stable_key(s) AS CAST(conv(substr(md5(s), 1, 15), 16, 10) AS BIGINT);
CREATE OR REPLACE TEMP MACRO film_key(imdb_id) AS CAST(substr(imdb_id, 3) AS BIGINT);

-- 1. Each title's latest snapshot: its rows from the latest partition (dt) that holds it.
CREATE OR REPLACE TEMP VIEW r_latest AS
WITH all_rows AS (
    SELECT 'movie' AS title_type, dt, imdb_id, title, original_title, release_year,
           CAST(NULL AS INT) AS end_year, runtime_minutes, genres, imdb_rating, imdb_votes,
           artist_gender, character_name, artist_name, birth_year, death_year, professions
    FROM in_movies
    UNION ALL
    SELECT 'series' AS title_type, dt, imdb_id, title, original_title, release_year,
           end_year, runtime_minutes, genres, imdb_rating, imdb_votes,
           artist_gender, character_name, artist_name, birth_year, death_year, professions
    FROM in_series
),
latest AS (SELECT imdb_id, max(dt) AS dt FROM all_rows GROUP BY imdb_id)
SELECT all_rows.* FROM all_rows JOIN latest USING (imdb_id, dt);

-- 2. One row per title: the smallest (title_type, title, ...) tuple, NULL after values.
CREATE OR REPLACE TEMP TABLE r_titles AS
SELECT imdb_id, best.*
FROM (
    SELECT imdb_id,
           min_by(struct(title_type, title, original_title, release_year, end_year,
                         runtime_minutes, imdb_rating, imdb_votes, genres),
                  struct(title_type IS NULL, title_type, title IS NULL, title,
                         original_title IS NULL, original_title, release_year IS NULL, release_year,
                         end_year IS NULL, end_year, runtime_minutes IS NULL, runtime_minutes,
                         imdb_rating IS NULL, imdb_rating, imdb_votes IS NULL, imdb_votes,
                         genres IS NULL, genres)) AS best
    FROM r_latest
    GROUP BY imdb_id
);

-- 3. TMDB, joined by IMDb id (never by title): the latest fetch of each title, movie or TV.
CREATE OR REPLACE TEMP TABLE r_tmdb AS
SELECT imdb_id, best.*
FROM (
    SELECT imdb_id,
           max_by(struct(tmdb_id, original_language, popularity, vote_average, vote_count,
                         budget, revenue),
                  struct(dt IS NULL, dt, fetched_at IS NULL, fetched_at, tmdb_id IS NULL, tmdb_id)) AS best
    FROM (
        SELECT imdb_id, tmdb_id, original_language, popularity, vote_average, vote_count,
               budget, revenue, dt, fetched_at
        FROM in_tmdb_movies
        UNION ALL
        SELECT imdb_id, tmdb_id, original_language, popularity, vote_average, vote_count,
               CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), dt, fetched_at
        FROM in_tmdb_series
    )
    GROUP BY imdb_id
);

CREATE OR REPLACE TEMP VIEW dim_filmes AS
SELECT film_key(t.imdb_id) AS film_id,
       t.imdb_id,
       m.tmdb_id,
       t.title,
       t.original_title,
       t.title_type,
       t.release_year,
       t.end_year,
       CAST(t.release_year DIV 10 * 10 AS INT) AS decade,
       t.runtime_minutes,
       m.original_language
FROM r_titles AS t LEFT JOIN r_tmdb AS m USING (imdb_id);

-- 4. Genres: a title without one gets '(unknown)' so it still has a FatoFilme row.
CREATE OR REPLACE TEMP VIEW r_title_genres AS
SELECT DISTINCT imdb_id, norm(genre) AS genre_key, trim(genre) AS genre
FROM (
    SELECT imdb_id, explode(CASE WHEN size(genres) > 0 THEN genres ELSE array('(unknown)') END) AS genre
    FROM r_titles
);

CREATE OR REPLACE TEMP VIEW dim_genero AS
SELECT stable_key(genre_key) AS genre_id, min(genre) AS genre
FROM r_title_genres
GROUP BY genre_key;

-- 5. Artists: identified by normalised name + birth year (the source has no artist id).
CREATE OR REPLACE TEMP TABLE r_cast AS
SELECT film_key(imdb_id) AS film_id,
       stable_key(norm(artist_name) || '|' || coalesce(CAST(birth_year AS STRING), '')) AS artist_id,
       dt, trim(artist_name) AS name, artist_gender, birth_year, death_year, professions,
       character_name
FROM r_latest
WHERE trim(artist_name) <> '';

-- An artist's attributes come from their latest snapshot; ties are broken deterministically.
CREATE OR REPLACE TEMP VIEW dim_artista AS
SELECT artist_id, best.*
FROM (
    SELECT artist_id,
           max_by(struct(name, artist_gender AS gender, birth_year, death_year, professions),
                  struct(dt IS NULL, dt, death_year IS NULL, death_year,
                         artist_gender IS NULL, artist_gender, professions IS NULL, professions,
                         name IS NULL, name)) AS best
    FROM r_cast
    GROUP BY artist_id
);

-- One row per (title, artist): an artist credited twice (actor and director, say) is one row,
-- their distinct characters joined by ' / '.
CREATE OR REPLACE TEMP VIEW fato_elenco AS
SELECT film_id, artist_id,
       nullif(array_join(array_sort(array_distinct(collect_list(character_name))), ' / '), '')
           AS character_name
FROM r_cast
GROUP BY film_id, artist_id;

-- 6. The fact: one row per (title, genre), IMDb and TMDB measures, and the artist count.
CREATE OR REPLACE TEMP VIEW fato_filme AS
SELECT film_key(t.imdb_id) AS film_id,
       stable_key(g.genre_key) AS genre_id,
       t.imdb_rating,
       t.imdb_votes,
       m.popularity AS tmdb_popularity,
       m.vote_average AS tmdb_vote_average,
       m.vote_count AS tmdb_vote_count,
       m.budget,
       m.revenue,
       CAST(coalesce(c.artists, 0) AS INT) AS artist_count
FROM (SELECT DISTINCT imdb_id, genre_key FROM r_title_genres) AS g
JOIN r_titles AS t USING (imdb_id)
LEFT JOIN r_tmdb AS m USING (imdb_id)
LEFT JOIN (SELECT film_id, count(DISTINCT artist_id) AS artists FROM r_cast GROUP BY film_id) AS c
       ON c.film_id = film_key(t.imdb_id);

-- How many rows each Refined table must have, counted straight from the inputs (not from the
-- tables built by refined.sql): the audit's "rows reconcile" then catches a join that
-- multiplies or loses rows, not only a broken writer. (Shared by both engines: Spark runs
-- sqlglot's translation.)
WITH titles AS (
    SELECT imdb_id, any_value(genres) AS genres FROM r_titles GROUP BY imdb_id
),
title_genres AS (
    SELECT DISTINCT imdb_id, norm(genre) AS genre_key
    FROM (
        SELECT imdb_id,
               unnest(CASE WHEN array_length(genres) > 0 THEN genres ELSE ['(unknown)'] END) AS genre
        FROM titles
    )
),
credits AS (
    SELECT DISTINCT imdb_id, norm(artist_name) || '|' || coalesce(CAST(birth_year AS VARCHAR), '') AS artist
    FROM r_latest
    WHERE trim(artist_name) <> ''
)
SELECT
    (SELECT count(DISTINCT genre_key) FROM title_genres) AS dim_genero,
    (SELECT count(DISTINCT artist) FROM credits) AS dim_artista,
    (SELECT count(*) FROM title_genres) AS fato_filme,
    (SELECT count(*) FROM credits) AS fato_elenco;

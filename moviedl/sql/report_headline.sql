SELECT
    count(*) AS titles,
    count(*) FILTER (WHERE title_type = 'movie') AS movies,
    count(*) FILTER (WHERE title_type = 'series') AS series,
    (SELECT count(DISTINCT genre_id) FROM fato_filme WHERE film_id IN (SELECT film_id FROM films)) AS genres,
    count(*) FILTER (WHERE tmdb_id IS NOT NULL) AS with_tmdb
FROM films;

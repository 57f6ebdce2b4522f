-- The headline cards over the report's scope. "(unknown)" (a title without a genre) is not a genre.
SELECT
    count(*) AS titles,
    count(*) FILTER (WHERE title_type = 'movie') AS movies,
    count(*) FILTER (WHERE title_type = 'series') AS series,
    (SELECT count(DISTINCT g.genre)
       FROM fato_filme AS ff JOIN dim_genero AS g USING (genre_id)
      WHERE g.genre <> '(unknown)') AS genres,
    (SELECT count(DISTINCT artist_id) FROM fato_elenco) AS artists,
    count(tmdb_id) AS with_tmdb,
    count(*) FILTER (WHERE genres = '(unknown)') AS unknown_genre_titles
FROM v_title_facts;

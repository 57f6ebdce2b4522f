-- Cast gender share per genre: principal artists of the report's titles, per genre of the title.
-- generoArtista is actor/actress in the IMDb-derived files and M/F in some exports: both count.
SELECT g.genre,
       count(*) FILTER (WHERE lower(trim(a.gender)) IN ('f', 'actress')) AS female,
       count(*) FILTER (WHERE lower(trim(a.gender)) IN ('m', 'actor')) AS male,
       count(*) FILTER (WHERE a.gender IS NULL
                           OR lower(trim(a.gender)) NOT IN ('f', 'actress', 'm', 'actor')) AS unknown
FROM fato_elenco AS e
JOIN dim_artista AS a USING (artist_id)
JOIN fato_filme AS ff ON ff.film_id = e.film_id
JOIN dim_genero AS g ON g.genre_id = ff.genre_id
WHERE e.film_id IN (SELECT film_id FROM films)
GROUP BY g.genre
ORDER BY count(*) DESC, g.genre
LIMIT 20;

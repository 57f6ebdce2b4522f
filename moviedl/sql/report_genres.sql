-- Titles and average IMDb rating per genre, most titles first.
SELECT g.genre, count(*) AS titles, round(avg(ff.imdb_rating), 2) AS avg_rating
FROM fato_filme AS ff
JOIN dim_genero AS g USING (genre_id)
WHERE ff.film_id IN (SELECT film_id FROM films)
GROUP BY g.genre
ORDER BY titles DESC, g.genre
LIMIT 25;

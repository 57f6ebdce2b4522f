SELECT count(DISTINCT artist_id) AS artists
FROM fato_elenco
WHERE film_id IN (SELECT film_id FROM films);

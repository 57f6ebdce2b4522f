SELECT title, title_type, release_year, imdb_rating, imdb_votes
FROM title_facts
WHERE imdb_votes IS NOT NULL
ORDER BY imdb_votes DESC, film_id
LIMIT 20;

-- TMDB popularity against IMDb rating; a stable sample keeps the page small.
SELECT imdb_rating, tmdb_popularity, title
FROM title_facts
WHERE imdb_rating IS NOT NULL AND tmdb_popularity > 0
ORDER BY hash(film_id)
LIMIT $max_points;

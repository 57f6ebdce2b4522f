-- IMDb rating against IMDb votes, one point per title: a stable sample of $max_points titles
-- (the same titles on every run) keeps the page small.
SELECT film_id, title, title_type, decade, genres, imdb_rating, imdb_votes
FROM v_title_facts
WHERE imdb_rating IS NOT NULL AND imdb_votes > 0
ORDER BY hash(film_id), film_id
LIMIT $max_points;

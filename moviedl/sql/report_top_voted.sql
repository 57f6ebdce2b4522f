-- Candidates for "top titles by IMDb votes" under any filter of the page: the $per_cell most-voted
-- titles of every (genre, decade, title type). The top N (N <= $per_cell) of any union of those
-- cells is among them, so the page's filtered table is exact.
WITH per_genre AS (
    SELECT film_id, decade, title_type, imdb_votes, unnest(string_split(genres, ', ')) AS genre
    FROM v_title_facts
    WHERE imdb_votes IS NOT NULL
),
ranked AS (
    SELECT film_id,
           row_number() OVER (PARTITION BY genre, decade, title_type ORDER BY imdb_votes DESC, film_id) AS k
    FROM per_genre
)
SELECT film_id, title, title_type, release_year, decade, genres, imdb_rating, imdb_votes
FROM v_title_facts
WHERE film_id IN (SELECT film_id FROM ranked WHERE k <= $per_cell)
ORDER BY imdb_votes DESC, film_id;

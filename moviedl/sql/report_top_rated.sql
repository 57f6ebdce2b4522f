-- Candidates for "top-rated titles" (v_top_rated) under any filter of the page: the $per_cell
-- best-rated titles of every (genre, decade, title type, votes band), the bands starting at the
-- page's minimum-votes choices ($bands, ascending). A filter keeps whole cells, so the top N
-- (N <= $per_cell) of what it keeps is among these candidates.
WITH per_genre AS (
    SELECT film_id, rating_rank, decade, title_type,
           list_max(list_filter($bands, lambda b: b <= imdb_votes)) AS band,
           unnest(string_split(genres, ', ')) AS genre
    FROM v_top_rated
),
ranked AS (
    SELECT film_id,
           row_number() OVER (PARTITION BY genre, decade, title_type, band ORDER BY rating_rank) AS k
    FROM per_genre
)
SELECT rating_rank, film_id, title, title_type, release_year, decade, genres, imdb_rating, imdb_votes
FROM v_top_rated
WHERE film_id IN (SELECT film_id FROM ranked WHERE k <= $per_cell)
ORDER BY rating_rank;

-- Titles with at least 10,000 IMDb votes, ranked by IMDb rating (rating_rank 1 is the best,
-- ties go to more votes, then the smaller film_id). Filter on imdb_votes for a higher bar.
CREATE OR REPLACE VIEW v_top_rated AS
SELECT
    row_number() OVER (ORDER BY imdb_rating DESC, imdb_votes DESC, film_id) AS rating_rank,
    film_id,
    title,
    title_type,
    release_year,
    decade,
    genres,
    imdb_rating,
    imdb_votes
FROM v_title_facts
WHERE imdb_rating IS NOT NULL AND imdb_votes >= 10000;

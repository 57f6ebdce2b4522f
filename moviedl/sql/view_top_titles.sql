-- The 100 titles with the most IMDb votes, ranked 1 to 100 (ties broken by film_id).
CREATE OR REPLACE VIEW v_top_titles AS
SELECT
    vote_rank,
    film_id,
    title,
    title_type,
    release_year,
    genres,
    imdb_rating,
    imdb_votes
FROM (
    SELECT
        *,
        row_number() OVER (ORDER BY imdb_votes DESC, film_id) AS vote_rank
    FROM v_title_facts
    WHERE imdb_votes IS NOT NULL
) AS ranked
WHERE vote_rank <= 100;

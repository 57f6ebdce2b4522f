-- One row per title with its title-level measures (FatoFilme repeats them on each genre row of
-- the title), its genres joined by ', ' and its IMDb votes band (the largest of 0, 1k, 10k, 100k
-- and 1M it reaches, 0 without votes), the grain a minimum-votes filter needs. The other views
-- build on it.
CREATE OR REPLACE VIEW v_title_facts AS
SELECT
    f.film_id,
    f.imdb_id,
    f.tmdb_id,
    f.title,
    f.original_title,
    f.title_type,
    f.release_year,
    f.decade,
    f.runtime_minutes,
    f.original_language,
    string_agg(g.genre, ', ' ORDER BY g.genre) AS genres,
    max(ff.imdb_rating) AS imdb_rating,
    max(ff.imdb_votes) AS imdb_votes,
    max(ff.tmdb_popularity) AS tmdb_popularity,
    max(ff.tmdb_vote_average) AS tmdb_vote_average,
    max(ff.tmdb_vote_count) AS tmdb_vote_count,
    max(ff.budget) AS budget,
    max(ff.revenue) AS revenue,
    max(ff.artist_count) AS artist_count,
    CASE
        WHEN max(ff.imdb_votes) >= 1000000 THEN 1000000
        WHEN max(ff.imdb_votes) >= 100000 THEN 100000
        WHEN max(ff.imdb_votes) >= 10000 THEN 10000
        WHEN max(ff.imdb_votes) >= 1000 THEN 1000
        ELSE 0
    END AS votes_band
FROM dim_filmes AS f
LEFT JOIN fato_filme AS ff ON ff.film_id = f.film_id
LEFT JOIN dim_genero AS g ON g.genre_id = ff.genre_id
GROUP BY
    f.film_id, f.imdb_id, f.tmdb_id, f.title, f.original_title, f.title_type, f.release_year, f.decade,
    f.runtime_minutes, f.original_language;

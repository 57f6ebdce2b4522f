-- TMDB budget and revenue (US dollars) per genre, title type, decade and IMDb votes band
-- (v_title_facts), over the titles that have both: titles, budget and revenue in total, and
-- return on investment (revenue / budget). A title counts once in each of its genres.
CREATE OR REPLACE VIEW v_budget_by_genre AS
SELECT
    g.genre,
    f.title_type,
    f.decade,
    t.votes_band,
    count(*) AS titles,
    CAST(sum(ff.budget) AS BIGINT) AS budget,
    CAST(sum(ff.revenue) AS BIGINT) AS revenue,
    round(CAST(sum(ff.revenue) AS DOUBLE) / sum(ff.budget), 2) AS roi
FROM fato_filme AS ff
JOIN dim_genero AS g ON g.genre_id = ff.genre_id
JOIN dim_filmes AS f ON f.film_id = ff.film_id
JOIN v_title_facts AS t ON t.film_id = ff.film_id
WHERE ff.budget > 0 AND ff.revenue > 0
GROUP BY g.genre, f.title_type, f.decade, t.votes_band;

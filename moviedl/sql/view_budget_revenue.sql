-- Budget against revenue (TMDB, US dollars) for every title that has both, with its IMDb rating and votes.
CREATE OR REPLACE VIEW v_budget_revenue AS
SELECT
    film_id,
    title,
    title_type,
    release_year,
    decade,
    genres,
    budget,
    revenue,
    revenue - budget AS profit,
    round(CAST(revenue AS DOUBLE) / budget, 2) AS revenue_to_budget,
    imdb_rating,
    imdb_votes
FROM v_title_facts
WHERE budget > 0 AND revenue > 0;

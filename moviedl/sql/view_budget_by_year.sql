-- TMDB budget and revenue (US dollars) per release year, title type, genre combination (`genres`)
-- and IMDb votes band, over the titles that have both: titles, budget and revenue in total, and
-- return on investment (revenue / budget).
CREATE OR REPLACE VIEW v_budget_by_year AS
SELECT
    release_year,
    decade,
    title_type,
    genres,
    votes_band,
    count(*) AS titles,
    CAST(sum(budget) AS BIGINT) AS budget,
    CAST(sum(revenue) AS BIGINT) AS revenue,
    round(CAST(sum(revenue) AS DOUBLE) / sum(budget), 2) AS roi
FROM v_title_facts
WHERE budget > 0 AND revenue > 0 AND release_year IS NOT NULL
GROUP BY release_year, decade, title_type, genres, votes_band;

-- Budget against revenue (v_budget_revenue), one point per title: a stable sample of $max_points.
SELECT film_id, title, title_type, decade, genres, budget, revenue, revenue_to_budget, imdb_rating, imdb_votes
FROM v_budget_revenue
ORDER BY hash(film_id), film_id
LIMIT $max_points;

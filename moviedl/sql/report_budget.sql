-- Budget against revenue for titles that have both; a stable sample keeps the page small.
SELECT budget, revenue, title
FROM title_facts
WHERE budget > 0 AND revenue > 0
ORDER BY hash(film_id)
LIMIT $max_points;

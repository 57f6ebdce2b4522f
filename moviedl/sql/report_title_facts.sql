-- One row per title of the report with its title-level measures (FatoFilme repeats them per genre).
CREATE OR REPLACE TEMP TABLE title_facts AS
SELECT f.film_id, f.title, f.title_type, f.release_year, f.decade,
       any_value(ff.imdb_rating) AS imdb_rating,
       any_value(ff.imdb_votes) AS imdb_votes,
       any_value(ff.tmdb_popularity) AS tmdb_popularity,
       any_value(ff.budget) AS budget,
       any_value(ff.revenue) AS revenue
FROM films AS f
LEFT JOIN fato_filme AS ff USING (film_id)
GROUP BY ALL;

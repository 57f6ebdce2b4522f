-- The titles the report covers: DimFilmes narrowed by the report's filters.
-- $genre: a genre name (case-insensitive) or NULL; $year_from / $year_to: release years or NULL.
CREATE OR REPLACE TEMP TABLE films AS
SELECT f.*
FROM dim_filmes AS f
WHERE ($year_from IS NULL OR f.release_year >= $year_from)
  AND ($year_to IS NULL OR f.release_year <= $year_to)
  AND ($genre IS NULL OR f.film_id IN (
        SELECT ff.film_id
        FROM fato_filme AS ff
        JOIN dim_genero AS g USING (genre_id)
        WHERE lower(g.genre) = lower($genre)));

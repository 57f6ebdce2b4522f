-- The titles the report covers: DimFilmes narrowed by the report's filters.
-- $genres: lower-case genre names (a title with any of them passes), empty for all; $year_from / $year_to: release years or NULL.
CREATE OR REPLACE TEMP TABLE films AS
SELECT f.*
FROM dim_filmes AS f
WHERE ($year_from IS NULL OR f.release_year >= $year_from)
  AND ($year_to IS NULL OR f.release_year <= $year_to)
  AND (len($genres) = 0 OR f.film_id IN (
        SELECT ff.film_id
        FROM fato_filme AS ff
        JOIN dim_genero AS g USING (genre_id)
        WHERE list_contains($genres, lower(g.genre))));

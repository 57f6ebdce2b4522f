-- The titles the report covers, and the Refined tables narrowed to them under their own names,
-- so that the analysis views (the same SQL athena-ddl emits) read only the report's scope.
-- Inputs: refined_<table> (the Refined tables as found in the lake).
-- $genres: lower-case genre names (a title with any of them passes), empty for all;
-- $year_from / $year_to: release years or NULL.
CREATE OR REPLACE TEMP TABLE report_scope AS
SELECT f.film_id
FROM refined_dim_filmes AS f
WHERE ($year_from IS NULL OR f.release_year >= $year_from)
  AND ($year_to IS NULL OR f.release_year <= $year_to)
  AND (len($genres) = 0 OR f.film_id IN (
        SELECT ff.film_id
        FROM refined_fato_filme AS ff
        JOIN refined_dim_genero AS g USING (genre_id)
        WHERE list_contains($genres, lower(g.genre))));

CREATE OR REPLACE TEMP VIEW dim_filmes AS
SELECT * FROM refined_dim_filmes WHERE film_id IN (SELECT film_id FROM report_scope);

CREATE OR REPLACE TEMP VIEW fato_filme AS
SELECT * FROM refined_fato_filme WHERE film_id IN (SELECT film_id FROM report_scope);

CREATE OR REPLACE TEMP VIEW fato_elenco AS
SELECT * FROM refined_fato_elenco WHERE film_id IN (SELECT film_id FROM report_scope);

CREATE OR REPLACE TEMP VIEW dim_genero AS SELECT * FROM refined_dim_genero;

CREATE OR REPLACE TEMP VIEW dim_artista AS SELECT * FROM refined_dim_artista;

-- How many rows each Refined table must have, counted from what the tables are built from,
-- never from the tables themselves: the audit's "rows reconcile" then catches a join or a
-- grouping in refined.sql's views that multiplies or loses rows, not only a broken writer.
-- Inputs: v_trusted_pairs (validate_trusted_pairs.sql: the (title, genre) pairs computed
-- straight from Trusted, independently of refined.sql) and r_cast (refined.sql: one keyed row
-- per credit). Counting from r_cast's keys costs a tenth of normalising every name again.
-- (Shared by both engines: Spark runs sqlglot's translation.)
SELECT
    (SELECT count(DISTINCT imdb_id) FROM v_trusted_pairs) AS dim_filmes,  -- every title has a pair
    (SELECT count(DISTINCT genre_key) FROM v_trusted_pairs) AS dim_genero,
    (SELECT count(DISTINCT artist_id) FROM r_cast) AS dim_artista,
    (SELECT count(*) FROM v_trusted_pairs) AS fato_filme,
    (SELECT count(*) FROM (SELECT DISTINCT film_id, artist_id FROM r_cast) AS pairs) AS fato_elenco;

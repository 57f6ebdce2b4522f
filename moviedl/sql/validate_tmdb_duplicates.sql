-- validate: IMDb ids stored more than once across the Raw TMDB files of one date (both kinds).
-- Input: v_tmdb_records (validate_tmdb_files.sql). One row: ids repeated, extra copies, example.
SELECT count(*), coalesce(sum(n - 1), 0),
       any_value(imdb_id || ' in ' || array_to_string(keys, ', '))
FROM (
    SELECT imdb_id, count(*) AS n, list(DISTINCT key ORDER BY key)[1:2] AS keys
    FROM v_tmdb_records
    WHERE imdb_id IS NOT NULL
    GROUP BY imdb_id
    HAVING count(*) > 1
);

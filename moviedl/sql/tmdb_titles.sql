-- One row per IMDb id of one Raw CSV (a title repeats: one row per principal artist), with the
-- title columns the filters look at. The file is read as text the way SPEC.md describes it:
-- '|' delimiter, no quoting (a '"' is data), \N is NULL. Numbers that do not parse become NULL.
INSERT INTO titles
SELECT
    trim(id) AS imdb_id,
    $kind AS kind,
    any_value(genero) AS genres,
    max(TRY_CAST(anoLancamento AS INTEGER)) AS release_year,
    max(TRY_CAST(numeroVotos AS BIGINT)) AS votes
FROM read_csv(
    $path,
    delim = '|', quote = '', escape = '', header = true, nullstr = '\N', all_varchar = true
)
WHERE id IS NOT NULL
GROUP BY trim(id);

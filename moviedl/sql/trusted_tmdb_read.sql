-- Raw TMDB JSON (arrays of /movie/{id} or /tv/{id} answers) -> one JSON value per record.
-- Parameters: $files (local JSON files, in lake key order).
-- Output table tmdb_raw: filename, record (1-based position in its file's array), json.
-- The streaming row_number() keeps file order; the record number restarts in each file.
CREATE OR REPLACE TEMP TABLE tmdb_raw AS
WITH scanned AS (
    SELECT row_number() OVER () AS seq, filename, json
    FROM read_json_objects($files, format = 'array', filename = true)
)
SELECT filename, seq, row_number() OVER (PARTITION BY filename ORDER BY seq) AS record, json
FROM scanned;

-- Shared typing helpers for trusted_tmdb_movies.sql / trusted_tmdb_series.sql. `f(json, path)`
-- is the field as text; numbers must be JSON numbers written as integers or decimals.
CREATE OR REPLACE TEMP MACRO f(j, path) AS nullif(j ->> path, '');
CREATE OR REPLACE TEMP MACRO j_int(j, path) AS
    CASE WHEN regexp_full_match(f(j, path), '[+-]?[0-9]{1,10}') THEN TRY_CAST(f(j, path) AS INTEGER) END;
CREATE OR REPLACE TEMP MACRO j_bigint(j, path) AS
    CASE WHEN regexp_full_match(f(j, path), '[+-]?[0-9]{1,19}') THEN TRY_CAST(f(j, path) AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO j_double(j, path) AS
    CASE WHEN regexp_full_match(f(j, path), '[+-]?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?')
         THEN TRY_CAST(f(j, path) AS DOUBLE) END;
CREATE OR REPLACE TEMP MACRO j_date(j, path) AS TRY_CAST(f(j, path) AS DATE);
CREATE OR REPLACE TEMP MACRO j_names(j, path) AS
    CASE WHEN json_type(j, path) = 'ARRAY' THEN json_extract_string(j, path || '[*].name') END;
CREATE OR REPLACE TEMP MACRO j_bad(j, path, typed, what) AS
    CASE WHEN f(j, path) IS NOT NULL AND typed IS NULL
         THEN substr(path, 3) || ' ''' || f(j, path) || ''' is not ' || what END;
-- Every record needs its TMDB id, the IMDb id it was looked up with, and the right kind.
CREATE OR REPLACE TEMP MACRO j_identity_problems(j, kind) AS nullif(concat_ws('; ',
    CASE WHEN f(j, '$.id') IS NULL THEN 'id is missing (not a TMDB title record)'
         WHEN j_bigint(j, '$.id') IS NULL THEN 'id ''' || f(j, '$.id') || ''' is not a whole number' END,
    CASE WHEN f(j, '$.imdb_id') IS NULL THEN 'imdb_id is missing'
         WHEN NOT regexp_full_match(f(j, '$.imdb_id'), 'tt[0-9]{7,18}')
         THEN 'imdb_id ''' || f(j, '$.imdb_id') || ''' is not an IMDb id' END,
    CASE WHEN f(j, '$.media_type') IS NOT NULL AND f(j, '$.media_type') <> kind
         THEN 'media_type ''' || f(j, '$.media_type') || ''' in a ' || kind || ' file' END,
    j_bad(j, '$.fetched_at', TRY_CAST(f(j, '$.fetched_at') AS TIMESTAMPTZ), 'a timestamp'),
    j_bad(j, '$.popularity', j_double(j, '$.popularity'), 'a number'),
    j_bad(j, '$.vote_average', j_double(j, '$.vote_average'), 'a number'),
    j_bad(j, '$.vote_count', j_bigint(j, '$.vote_count'), 'a whole number')
), '');

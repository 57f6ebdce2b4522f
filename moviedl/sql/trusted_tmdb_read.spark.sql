-- Spark's text of trusted_tmdb_read.sql (see moviedl.engine.sql_for): tmdb_raw and the typing
-- macros trusted_tmdb_movies.sql / trusted_tmdb_series.sql use (those files are shared: the
-- engine translates them). What differs, and why:
--   * the files are read by read_json_records (the engine): each record of each file's array as
--     the exact text stored (DuckDB's read_json_objects keeps it), with its file's position in
--     :files, so seq follows file order then record order as DuckDB's streaming row_number();
--   * a field's text is get_json_object's (DuckDB: ->>): the same for strings, booleans, whole
--     numbers and plain decimals; a number in exponent form or of 1e7 and more is spelled as
--     Java spells it, which only shows in a quarantine reason (the typed value is the same);
--   * a date must be written YYYY-MM-DD (what TMDB sends), a timestamp in ISO form (what
--     ingest-tmdb writes): Spark's own casts accept '2024' or '2024-05', DuckDB's do not; DuckDB
--     also accepts '2024/05/01' or '2024-5-1', which are quarantined here;
--   * json_type(.., 'ARRAY') and json_extract_string(.., '[*].name') become VARIANT functions.
-- Parameters: :files (local JSON files, in lake key order).

CREATE OR REPLACE TEMP TABLE tmdb_raw AS
SELECT filename, CAST(row_number() OVER (ORDER BY file_index, record) AS BIGINT) AS seq, record, json
FROM read_json_records(:files);

CREATE OR REPLACE TEMP MACRO f(j, path) AS nullif(get_json_object(j, path), '');
CREATE OR REPLACE TEMP MACRO j_int(j, path) AS
    CASE WHEN regexp_full_match(f(j, path), '[+-]?[0-9]{1,10}') THEN TRY_CAST(f(j, path) AS INT) END;
CREATE OR REPLACE TEMP MACRO j_bigint(j, path) AS
    CASE WHEN regexp_full_match(f(j, path), '[+-]?[0-9]{1,19}') THEN TRY_CAST(f(j, path) AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO j_double(j, path) AS
    CASE WHEN regexp_full_match(f(j, path), '[+-]?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?')
         THEN TRY_CAST(f(j, path) AS DOUBLE) END;
-- as the engine types DuckDB's TRY_CAST(.. AS TIMESTAMPTZ) (moviedl.spark_sql.TIMESTAMP_PATTERN)
CREATE OR REPLACE TEMP MACRO j_timestamp(j, path) AS
    CASE WHEN regexp_full_match(f(j, path), '[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?')
         THEN TRY_CAST(f(j, path) AS TIMESTAMP) END;
CREATE OR REPLACE TEMP MACRO j_date(j, path) AS
    CASE WHEN regexp_full_match(f(j, path), '[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN TRY_CAST(f(j, path) AS DATE) END;
-- the names of the array's elements that have a "name" (JSON null -> NULL), as DuckDB's
-- json_extract_string(j, path || '[*].name'); NULL unless the value is an array
CREATE OR REPLACE TEMP MACRO j_names(j, path) AS
    transform(filter(try_variant_get(try_parse_json(j), path, 'array<variant>'),
                     e -> variant_get(e, '$.name') IS NOT NULL),
              e -> variant_get(e, '$.name', 'string'));
CREATE OR REPLACE TEMP MACRO j_bad(j, path, typed, what) AS
    CASE WHEN f(j, path) IS NOT NULL AND typed IS NULL
         THEN substr(path, 3) || ' \'' || f(j, path) || '\' is not ' || what END;
CREATE OR REPLACE TEMP MACRO j_identity_problems(j, kind) AS nullif(concat_ws('; ',
    CASE WHEN f(j, '$.id') IS NULL THEN 'id is missing (not a TMDB title record)'
         WHEN j_bigint(j, '$.id') IS NULL THEN 'id \'' || f(j, '$.id') || '\' is not a whole number' END,
    CASE WHEN f(j, '$.imdb_id') IS NULL THEN 'imdb_id is missing'
         WHEN NOT regexp_full_match(f(j, '$.imdb_id'), 'tt[0-9]{7,18}')
         THEN 'imdb_id \'' || f(j, '$.imdb_id') || '\' is not an IMDb id' END,
    CASE WHEN f(j, '$.media_type') IS NOT NULL AND f(j, '$.media_type') <> kind
         THEN 'media_type \'' || f(j, '$.media_type') || '\' in a ' || kind || ' file' END,
    j_bad(j, '$.fetched_at', j_timestamp(j, '$.fetched_at'), 'a timestamp'),
    j_bad(j, '$.popularity', j_double(j, '$.popularity'), 'a number'),
    j_bad(j, '$.vote_average', j_double(j, '$.vote_average'), 'a number'),
    j_bad(j, '$.vote_count', j_bigint(j, '$.vote_count'), 'a whole number')
), '');

-- Spark's text of trusted_tmdb_read.sql (see moviedl.engines.base.sql_for): tmdb_raw and the typing
-- macros trusted_tmdb_movies.sql / trusted_tmdb_series.sql use (those files are shared: the
-- engine translates them). What differs, and why:
--   * the files are read by read_json_records (the engine): each record of each file's array as
--     the exact text stored (DuckDB's read_json_objects keeps it), with its file's position in
--     :files, so seq follows file order then record order as DuckDB's streaming row_number();
--   * a field's text is get_json_object's (DuckDB: ->>): the same for strings, booleans, whole
--     numbers and plain decimals; Java spells a number under 0.001 or from 1e7 in E notation,
--     so where such a number would be shown (a text column, a quarantine reason), the refine is
--     refused (f); j_text, the text the numbers are typed from, gives the same numbers;
--   * dates and timestamps are typed in ISO form (what TMDB and ingest-tmdb write); other text
--     DuckDB may read as one is refused (Spark's casts read '2024' as a date, DuckDB's do not);
--   * json_type(.., 'ARRAY') and json_extract_string(.., '[*].name') become VARIANT functions.
-- Parameters: :files (local JSON files, in lake key order).

CREATE OR REPLACE TEMP TABLE tmdb_raw AS
SELECT filename, CAST(row_number() OVER (ORDER BY file_index, record) AS BIGINT) AS seq, record, json
FROM read_json_records(:files);

-- j_text: a field's text, as DuckDB's ->> gives it but for numbers Java spells in E notation
-- (1.0E-5, 1.23456789E7: DuckDB writes 0.00001, 12345678.9). f: that text where it is shown
-- (a text column, a quarantine reason), refusing such a number rather than word it otherwise.
CREATE OR REPLACE TEMP MACRO j_text(j, path) AS nullif(get_json_object(j, path), '');
CREATE OR REPLACE TEMP MACRO f(j, path) AS
    CASE WHEN j_text(j, path) RLIKE '[0-9]E[+-]?[0-9]'
              AND schema_of_variant(variant_get(try_parse_json(j), path)) RLIKE '^(DOUBLE|DECIMAL|FLOAT)'
         THEN raise_error(concat('moviedl refused: ', substr(path, 3), ' is the number ', j_text(j, path),
                                 ', which Spark would spell otherwise than DuckDB'))
         ELSE j_text(j, path) END;
CREATE OR REPLACE TEMP MACRO j_int(j, path) AS
    CASE WHEN regexp_full_match(j_text(j, path), '[+-]?[0-9]{1,10}') THEN TRY_CAST(j_text(j, path) AS INT) END;
CREATE OR REPLACE TEMP MACRO j_bigint(j, path) AS
    CASE WHEN regexp_full_match(j_text(j, path), '[+-]?[0-9]{1,19}') THEN TRY_CAST(j_text(j, path) AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO j_double(j, path) AS
    CASE WHEN regexp_full_match(j_text(j, path), '[+-]?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?')
         THEN TRY_CAST(j_text(j, path) AS DOUBLE) END;
-- A date or timestamp is typed when written in ISO form (what TMDB and ingest-tmdb write), as
-- the engine types DuckDB's TRY_CAST(.. AS TIMESTAMPTZ) (moviedl.engines.spark.sql.TIMESTAMP_PATTERN);
-- other text DuckDB may read as one ('2024/05/01', '2024-5-1', '2024-05-01 10:00') stops the
-- refine with a refusal, rather than be quarantined here and typed by DuckDB.
CREATE OR REPLACE TEMP MACRO j_timestamp(j, path) AS
    CASE WHEN regexp_full_match(j_text(j, path), '[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?')
         THEN TRY_CAST(j_text(j, path) AS TIMESTAMP)
         WHEN duck_date_like(j_text(j, path)) THEN refuse_date(j_text(j, path), substr(path, 3)) END;
CREATE OR REPLACE TEMP MACRO j_date(j, path) AS
    CASE WHEN regexp_full_match(j_text(j, path), '[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN TRY_CAST(j_text(j, path) AS DATE)
         WHEN duck_date_like(j_text(j, path)) THEN refuse_date(j_text(j, path), substr(path, 3)) END;
-- the names of the array's elements that have a "name" (JSON null -> NULL), as DuckDB's
-- json_extract_string(j, path || '[*].name'); NULL unless the value is an array
CREATE OR REPLACE TEMP MACRO j_names(j, path) AS
    transform(filter(try_variant_get(try_parse_json(j), path, 'array<variant>'),
                     e -> variant_get(e, '$.name') IS NOT NULL),
              e -> variant_get(e, '$.name', 'string'));
CREATE OR REPLACE TEMP MACRO j_bad(j, path, typed, what) AS
    CASE WHEN j_text(j, path) IS NOT NULL AND typed IS NULL
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

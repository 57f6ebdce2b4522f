-- TMDB /movie/{id} records (tmdb_raw, see trusted_tmdb_read.sql) -> typed rows.
-- Output tables: tmdb_typed (every record, `reason` set when it cannot be typed),
-- tmdb_quarantine and tmdb_distinct (one row per IMDb id: the latest fetch wins).
CREATE OR REPLACE TEMP TABLE tmdb_typed AS
SELECT
    filename,
    record,
    seq,
    j_bigint(json, '$.id') AS tmdb_id,
    f(json, '$.imdb_id') AS imdb_id,
    f(json, '$.title') AS title,
    f(json, '$.original_title') AS original_title,
    j_date(json, '$.release_date') AS release_date,
    f(json, '$.original_language') AS original_language,
    j_double(json, '$.popularity') AS popularity,
    j_double(json, '$.vote_average') AS vote_average,
    j_bigint(json, '$.vote_count') AS vote_count,
    j_names(json, '$.genres') AS genres,
    nullif(j_bigint(json, '$.budget'), 0) AS budget,
    nullif(j_bigint(json, '$.revenue'), 0) AS revenue,
    j_int(json, '$.runtime') AS runtime,
    CAST(TRY_CAST(f(json, '$.fetched_at') AS TIMESTAMPTZ) AS TIMESTAMP) AS fetched_at,
    nullif(concat_ws('; ',
        j_identity_problems(json, 'movie'),
        j_bad(json, '$.release_date', j_date(json, '$.release_date'), 'a date'),
        j_bad(json, '$.budget', j_bigint(json, '$.budget'), 'a whole number'),
        j_bad(json, '$.revenue', j_bigint(json, '$.revenue'), 'a whole number'),
        j_bad(json, '$.runtime', j_int(json, '$.runtime'), 'a whole number')
    ), '') AS reason
FROM tmdb_raw;

-- TMDB /tv/{id} records (tmdb_raw, see trusted_tmdb_read.sql) -> typed rows.
-- Output table tmdb_typed: every record, `reason` set when it cannot be typed.
CREATE OR REPLACE TEMP TABLE tmdb_typed AS
SELECT
    filename,
    record,
    seq,
    j_bigint(json, '$.id') AS tmdb_id,
    f(json, '$.imdb_id') AS imdb_id,
    f(json, '$.name') AS name,
    f(json, '$.original_name') AS original_name,
    j_date(json, '$.first_air_date') AS first_air_date,
    j_date(json, '$.last_air_date') AS last_air_date,
    f(json, '$.original_language') AS original_language,
    j_double(json, '$.popularity') AS popularity,
    j_double(json, '$.vote_average') AS vote_average,
    j_bigint(json, '$.vote_count') AS vote_count,
    j_names(json, '$.genres') AS genres,
    j_int(json, '$.number_of_seasons') AS number_of_seasons,
    j_int(json, '$.number_of_episodes') AS number_of_episodes,
    CAST(TRY_CAST(f(json, '$.fetched_at') AS TIMESTAMPTZ) AS TIMESTAMP) AS fetched_at,
    nullif(concat_ws('; ',
        j_identity_problems(json, 'tv'),
        j_bad(json, '$.first_air_date', j_date(json, '$.first_air_date'), 'a date'),
        j_bad(json, '$.last_air_date', j_date(json, '$.last_air_date'), 'a date'),
        j_bad(json, '$.number_of_seasons', j_int(json, '$.number_of_seasons'), 'a whole number'),
        j_bad(json, '$.number_of_episodes', j_int(json, '$.number_of_episodes'), 'a whole number')
    ), '') AS reason
FROM tmdb_raw;

-- validate, Raw TMDB JSON of one date: what each file holds, and IMDb ids stored twice.
-- Parameters: $files (local JSON files), $keys (their lake keys, same order),
-- $kinds (the media type each file's folder calls for: 'movie' or 'tv', same order).
-- Output tables: v_tmdb_records (key, record, imdb_id, media_type),
-- v_tmdb_files (key, records, wrong_kind, example_kind, no_imdb_id).
CREATE OR REPLACE TEMP TABLE v_tmdb_records AS
SELECT f.key, f.kind,
       row_number() OVER (PARTITION BY f.key) AS record,
       nullif(o.json ->> '$.imdb_id', '') AS imdb_id,
       -- ingest-tmdb records the media type; without it a /movie answer has a title, /tv a name
       coalesce(nullif(o.json ->> '$.media_type', ''),
                CASE WHEN json_exists(o.json, '$.title') THEN 'movie'
                     WHEN json_exists(o.json, '$.name') THEN 'tv' END) AS media_type
FROM read_json_objects($files, format = 'array', filename = true) AS o
JOIN (SELECT unnest($files) AS filename, unnest($keys) AS key, unnest($kinds) AS kind) AS f
  USING (filename);

CREATE OR REPLACE TEMP TABLE v_tmdb_files AS
SELECT key,
       count(*) AS records,
       count(*) FILTER (WHERE media_type IS DISTINCT FROM kind) AS wrong_kind,
       any_value(coalesce(media_type, 'unknown')) FILTER (WHERE media_type IS DISTINCT FROM kind)
           AS example_kind,
       count(*) FILTER (WHERE imdb_id IS NULL) AS no_imdb_id
FROM v_tmdb_records
GROUP BY key;

-- The records of Raw TMDB JSON files that the ledger does not know (a run was killed between
-- writing a file and recording it). $root is the local folder the files sit under, so that
-- stripping it from each path gives the lake key; the date comes from the YYYY/MM/DD folder.
SELECT
    imdb_id,
    coalesce(media_type, CASE WHEN filename LIKE '%/Series/%' THEN 'tv' ELSE 'movie' END) AS media_type,
    id AS tmdb_id,
    substr(filename, length($root) + 1) AS file,
    CAST(replace(regexp_extract(filename, '([0-9]{4}/[0-9]{2}/[0-9]{2})/[^/]+$', 1), '/', '-') AS DATE) AS date,
    fetched_at
FROM read_json(
    $files,
    format = 'array',
    filename = true,
    columns = {imdb_id: 'VARCHAR', media_type: 'VARCHAR', id: 'BIGINT', fetched_at: 'VARCHAR'}
)
WHERE imdb_id IS NOT NULL;

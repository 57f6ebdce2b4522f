-- ingest-tmdb: how the selection came out (one row).
SELECT
    (SELECT count(*) FROM titles WHERE NOT regexp_full_match(imdb_id, 'tt[0-9]+')) AS invalid_ids,
    (SELECT count(*) FROM wanted WHERE imdb_id NOT IN (SELECT imdb_id FROM titles)) AS unlisted_ids,
    (SELECT count(*) FROM candidates) AS considered,
    (SELECT count(*) FROM candidates WHERE state = 'present') AS present,
    (SELECT count(*) FROM candidates WHERE state = 'not_found_before') AS not_found_before,
    (SELECT count(*) FROM candidates WHERE state = 'todo') AS todo;

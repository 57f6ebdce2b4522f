-- ingest-tmdb: the ids to look up now, in a stable order, at most $limit (NULL: all).
SELECT imdb_id, kind
FROM candidates
WHERE state = 'todo'
ORDER BY imdb_id
LIMIT $limit;

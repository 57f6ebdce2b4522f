-- Ids recorded in more than one Raw TMDB file of one date (the Raw zone must hold each once).
SELECT imdb_id
FROM ledger
WHERE status = 'fetched' AND date = $date
GROUP BY imdb_id
HAVING count(DISTINCT file) > 1
ORDER BY imdb_id;

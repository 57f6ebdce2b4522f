-- Merge ledger files into one JSON Lines file (duplicates dropped, stable order).
COPY (
    SELECT DISTINCT imdb_id, status, media_type, tmdb_id, date, file, recorded_at, error, window_start, window_end
    FROM read_json(
        $files,
        format = 'newline_delimited',
        columns = {
            imdb_id: 'VARCHAR', status: 'VARCHAR', media_type: 'VARCHAR', tmdb_id: 'BIGINT',
            date: 'DATE', file: 'VARCHAR', recorded_at: 'VARCHAR', error: 'VARCHAR',
            window_start: 'DATE', window_end: 'DATE'
        }
    )
    ORDER BY date, file NULLS LAST, imdb_id, status, recorded_at
) TO $out (FORMAT json);

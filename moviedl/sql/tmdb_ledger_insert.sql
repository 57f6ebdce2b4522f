-- Load ledger files (JSON Lines) into the ledger table.
INSERT INTO ledger
SELECT imdb_id, status, media_type, tmdb_id, date, file, recorded_at, error, window_start, window_end
FROM read_json(
    $files,
    format = 'newline_delimited',
    columns = {
        imdb_id: 'VARCHAR', status: 'VARCHAR', media_type: 'VARCHAR', tmdb_id: 'BIGINT',
        date: 'DATE', file: 'VARCHAR', recorded_at: 'VARCHAR', error: 'VARCHAR',
        window_start: 'DATE', window_end: 'DATE'
    }
);

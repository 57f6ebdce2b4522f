-- ingest-tmdb: the titles of the Raw CSVs (one row per IMDb id and kind), and the ids of --ids-file.
CREATE OR REPLACE TABLE titles (
    imdb_id      VARCHAR,
    kind         VARCHAR,  -- movies | series (the CSV it came from)
    genres       VARCHAR,  -- comma list, as in the CSV
    release_year INTEGER,
    votes        BIGINT
);
CREATE OR REPLACE TABLE wanted (imdb_id VARCHAR);

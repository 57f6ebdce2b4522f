-- Raw CSV -> typed rows (Trusted movies or series).
-- Parameters: $path (local CSV file), $columns (the file's own header names -> VARCHAR, in
-- header order, so columns are matched by name, never by position), $longest_line (bytes:
-- the longest line ingest-csv measured; read_csv's max_line_size gets room for it above its
-- 2 MB default, so whatever ingest-csv stored is read).
-- Needs the macro csv_row_problems(row) (made by moviedl.stages.refine.trusted from moviedl.checks.values.RULES):
-- why a typed row breaks a value rule (year ranges, death before birth, artist gender...).
-- Output:
--   csv_typed:      every line in file order (line number = rowid + 2), typed (lists still as
--                   text: far less memory), with `reason` (why it cannot be typed; NULL when
--                   it can), `raw` (the line as stored, for the lines the typed values do not
--                   give back exactly: untypeable ones, and those with an empty field or a
--                   number not written as its value prints, such as '07' or '8'), `row_hash`
--                   (DuckDB's 64-bit hash() of the line) and `keep` (the first copy of a
--                   typeable line);
--   csv_first:      the first row of each distinct typeable line, and its number of copies;
--   csv_trusted:    a view: the rows to write, named and typed as the contract, and their
--                   `row_index` (their file order: rowid) for the writer to write in ranges;
--   csv_quarantine: a view: line, raw and reason of the lines that cannot be typed.
-- csv_typed, csv_trusted and the macros they use are not TEMP: DuckDBEngine.write_parquet_ranges
-- writes ranges of csv_trusted on other connections of the same database, which see no TEMP object.

-- Typing rules, strict on purpose: a whole number is digits with an optional sign (not
-- '1921.0' or '1e3', which TRY_CAST would accept and round); a decimal is digits with an
-- optional fraction. '\N' and the empty string are NULL. Lists are split on ',' and trimmed.
CREATE OR REPLACE MACRO src(v) AS nullif(nullif(v, '\N'), '');
-- A whole number: TRY_CAST's value when it prints as the text itself (nearly every value, and
-- then the text is digits with an optional '-', so the regex need not run), else when the text
-- matches the regex ('+5', '007': typed, and kept as raw since they print otherwise). So exactly
-- the values of "regex matches, then TRY_CAST", at a fraction of the cost.
CREATE OR REPLACE TEMP MACRO whole(v, typed, pattern) AS
    CASE WHEN CAST(typed AS VARCHAR) = v OR regexp_full_match(v, pattern) THEN typed END;
CREATE OR REPLACE TEMP MACRO as_int(v) AS whole(v, TRY_CAST(src(v) AS INTEGER), '[+-]?[0-9]{1,10}');
CREATE OR REPLACE TEMP MACRO as_bigint(v) AS whole(v, TRY_CAST(src(v) AS BIGINT), '[+-]?[0-9]{1,19}');
CREATE OR REPLACE TEMP MACRO as_double(v) AS
    CASE WHEN regexp_full_match(src(v), '[+-]?[0-9]{1,15}([.][0-9]{1,15})?')
         THEN TRY_CAST(src(v) AS DOUBLE) END;
-- A plain ASCII list with no space and no empty item (nearly every value) has nothing to trim
-- or drop, so it skips the per-item lambdas, which cost as much again as the whole split.
CREATE OR REPLACE MACRO as_list(v) AS
    CASE WHEN src(v) IS NULL THEN NULL
         WHEN strlen(v) = length(v) AND NOT contains(v, ' ') AND NOT contains(v, ',,')
              AND NOT starts_with(v, ',') AND NOT ends_with(v, ',')
         THEN string_split(v, ',')
         ELSE list_filter(list_transform(string_split(src(v), ','), lambda e: trim(e)),
                          lambda e: e <> '') END;
-- Does the typed value give the field's text back exactly? ('\N' is NULL; '' is not: see lossy)
CREATE OR REPLACE TEMP MACRO as_written(v, typed) AS
    v IS NULL OR v = '\N' OR CAST(typed AS VARCHAR) = v;
CREATE OR REPLACE TEMP MACRO bad(v, typed, label, what) AS
    CASE WHEN src(v) IS NOT NULL AND typed IS NULL
         THEN label || ' ''' || v || ''' is not ' || what END;

-- One parallel pass over the file. Every field is read as text: no quoting ('"' is data), no
-- escape, and no NULL conversion at first (nullstr is a NUL byte, which never occurs in a UTF-8
-- text file), so a line can be rebuilt exactly as stored. With preserve_insertion_order
-- (moviedl.engines.duck sets it) the table keeps file order, so a row's line number is its rowid + 2
-- (the header is line 1). movies.csv has no anoTermino: UNION ALL BY NAME with an empty
-- relation adds it as a last, NULL column, so one typing step serves both kinds (and
-- concat_ws, rebuilding a line, skips it).
CREATE OR REPLACE TABLE csv_typed AS
WITH scanned AS (
    SELECT *
    FROM read_csv($path, delim = '|', quote = '', escape = '', header = true,
                  auto_detect = false, nullstr = chr(0), columns = $columns, strict_mode = true,
                  max_line_size = greatest(2097152, $longest_line + 1024))
    UNION ALL BY NAME
    SELECT * FROM (SELECT CAST(NULL AS VARCHAR) AS "anoTermino" WHERE false)
),
typed AS (
    SELECT
        src("id") AS imdb_id,
        src("tituloPincipal") AS title,
        src("tituloOriginal") AS original_title,
        as_int("anoLancamento") AS release_year,
        as_int("anoTermino") AS end_year,
        as_int("tempoMinutos") AS runtime_minutes,
        src("genero") AS genres_text,
        as_double("notaMedia") AS imdb_rating,
        as_bigint("numeroVotos") AS imdb_votes,
        src("generoArtista") AS artist_gender,
        src("personagem") AS character_name,
        src("nomeArtista") AS artist_name,
        as_int("anoNascimento") AS birth_year,
        as_int("anoFalecimento") AS death_year,
        src("profissao") AS professions_text,
        src("titulosMaisConhecidos") AS known_for_titles_text,
        concat_ws('|', *COLUMNS(*)) AS raw,
        -- The typed values do not give the line back exactly: a field is empty (NULL, as '\N'
        -- is; no field holds a '|'), or a number is not written as its value prints.
        contains(raw, '||') OR starts_with(raw, '|') OR ends_with(raw, '|')
            OR NOT (as_written("anoLancamento", release_year) AND as_written("anoTermino", end_year)
                    AND as_written("tempoMinutos", runtime_minutes)
                    AND as_written("notaMedia", imdb_rating) AND as_written("numeroVotos", imdb_votes)
                    AND as_written("anoNascimento", birth_year)
                    AND as_written("anoFalecimento", death_year)) AS lossy,
        nullif(concat_ws('; ',
            CASE WHEN src("id") IS NULL THEN 'id is missing'
                 WHEN NOT regexp_full_match("id", 'tt[0-9]{7,18}')
                 THEN 'id ''' || "id" || ''' is not an IMDb id (tt + 7 or more digits)' END,
            bad("anoLancamento", release_year, 'anoLancamento', 'a whole number'),
            bad("anoTermino", end_year, 'anoTermino', 'a whole number'),
            bad("tempoMinutos", runtime_minutes, 'tempoMinutos', 'a whole number'),
            bad("notaMedia", imdb_rating, 'notaMedia', 'a decimal number'),
            bad("numeroVotos", imdb_votes, 'numeroVotos', 'a whole number'),
            bad("anoNascimento", birth_year, 'anoNascimento', 'a whole number'),
            bad("anoFalecimento", death_year, 'anoFalecimento', 'a whole number')
        ), '') AS type_problems
    FROM scanned
),
checked AS (
    -- A row that types but breaks a value rule is quarantined too (never published, counted).
    SELECT *, coalesce(type_problems, csv_row_problems(typed)) AS reason FROM typed
)
SELECT * EXCLUDE (raw, type_problems, lossy),
       CASE WHEN reason IS NOT NULL OR lossy THEN raw END AS raw,
       hash(raw) AS row_hash,
       false AS keep
FROM checked;

-- Exact duplicate rows (the same line, byte for byte) among the typeable ones: keep the first.
-- Lines are grouped by their 64-bit hash first; the lines of a hash held more than once (the
-- duplicates, and any two lines whose hashes collide) are then grouped by the line itself: the
-- line as stored where the row keeps it (raw), else the typed values, which give it back exactly
-- (imdb_rating as text: GROUP BY takes -0.0 for 0.0). So no two distinct lines are ever merged.
CREATE OR REPLACE TEMP TABLE csv_first AS
WITH by_hash AS (
    SELECT row_hash, min(rowid) AS first, count(*) AS copies
    FROM csv_typed
    WHERE reason IS NULL
    GROUP BY row_hash
)
SELECT first, copies FROM by_hash WHERE copies = 1
UNION ALL
SELECT min(rowid) AS first, count(*) AS copies
FROM csv_typed
WHERE reason IS NULL AND row_hash IN (SELECT row_hash FROM by_hash WHERE copies > 1)
GROUP BY row_hash, raw, imdb_id, title, original_title, release_year, end_year, runtime_minutes,
         genres_text, CAST(imdb_rating AS VARCHAR), imdb_votes, artist_gender, character_name,
         artist_name, birth_year, death_year, professions_text, known_for_titles_text;

UPDATE csv_typed SET keep = true WHERE rowid IN (SELECT first FROM csv_first);

-- What is written: the first copy of each typeable line, in file order (row_index), as the
-- contract says.
CREATE OR REPLACE VIEW csv_trusted AS
SELECT rowid AS row_index, imdb_id, title, original_title, release_year, end_year, runtime_minutes,
       as_list(genres_text) AS genres, imdb_rating, imdb_votes, artist_gender, character_name,
       artist_name, birth_year, death_year, as_list(professions_text) AS professions,
       as_list(known_for_titles_text) AS known_for_titles
FROM csv_typed
WHERE keep;

CREATE OR REPLACE TEMP VIEW csv_quarantine AS
SELECT rowid + 2 AS line, raw, reason FROM csv_typed WHERE reason IS NOT NULL;

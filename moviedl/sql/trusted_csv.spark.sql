-- Spark's text of trusted_csv.sql (see moviedl.engines.base.sql_for): the same tables and views, the
-- same typing rules, the same quarantine. What differs, and why:
--   * Spark's CSV reader cannot give a line as stored nor its number, so the file is read as
--     lines (read_lines: the engine numbers them as DuckDB does, header = line 1) and split on
--     '|' here; a field is found by its header name (:columns, in header order), so columns are
--     matched by name, never by position, and movies.csv's missing anoTermino is NULL;
--   * a line whose field count differs from the header's, or that holds a lone CR, stops the
--     read (DuckDB's strict_mode refuses both);
--   * DuckDB's rowid is the line number; the first copy of a duplicate line is the smallest
--     line number (no UPDATE); the duplicate key is md5(raw), where DuckDB groups by its 64-bit
--     hash() and then, for the hashes held more than once, by the line itself.
-- Parameters: :path, :columns (as trusted_csv.sql; $longest_line sizes DuckDB's reader only).
-- Needs the macro csv_row_problems(row) (moviedl.stages.refine.trusted), as trusted_csv.sql.

CREATE OR REPLACE TEMP MACRO src(v) AS nullif(nullif(v, '\\N'), '');
CREATE OR REPLACE TEMP MACRO as_int(v) AS
    CASE WHEN regexp_full_match(src(v), '[+-]?[0-9]{1,10}') THEN TRY_CAST(src(v) AS INT) END;
CREATE OR REPLACE TEMP MACRO as_bigint(v) AS
    CASE WHEN regexp_full_match(src(v), '[+-]?[0-9]{1,19}') THEN TRY_CAST(src(v) AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO as_double(v) AS
    CASE WHEN regexp_full_match(src(v), '[+-]?[0-9]{1,15}([.][0-9]{1,15})?')
         THEN TRY_CAST(src(v) AS DOUBLE) END;
CREATE OR REPLACE TEMP MACRO as_list(v) AS
    CASE WHEN src(v) IS NOT NULL
         THEN filter(transform(split(src(v), ','), e -> trim(e)), e -> e <> '') END;
CREATE OR REPLACE TEMP MACRO bad(v, typed, label, what) AS
    CASE WHEN src(v) IS NOT NULL AND typed IS NULL
         THEN label || ' \'' || v || '\' is not ' || what END;
CREATE OR REPLACE TEMP MACRO field_of(name) AS
    get(fields, array_position(map_keys(:columns), name) - 1);

CREATE OR REPLACE TEMP TABLE csv_typed AS
WITH lines AS (
    SELECT line, value AS raw, split(value, '[|]', -1) AS fields
    FROM read_lines(:path)
    WHERE line > 1
),
scanned AS (
    SELECT line, raw,
           field_of('id') AS id, field_of('tituloPincipal') AS tituloPincipal,
           field_of('tituloOriginal') AS tituloOriginal, field_of('anoLancamento') AS anoLancamento,
           field_of('anoTermino') AS anoTermino, field_of('tempoMinutos') AS tempoMinutos,
           field_of('genero') AS genero, field_of('notaMedia') AS notaMedia,
           field_of('numeroVotos') AS numeroVotos, field_of('generoArtista') AS generoArtista,
           field_of('personagem') AS personagem, field_of('nomeArtista') AS nomeArtista,
           field_of('anoNascimento') AS anoNascimento, field_of('anoFalecimento') AS anoFalecimento,
           field_of('profissao') AS profissao, field_of('titulosMaisConhecidos') AS titulosMaisConhecidos
    FROM lines
    WHERE assert_true(size(fields) = size(:columns) AND NOT contains(raw, '\r'),
                      'line ' || line || ' has ' || size(fields) || ' fields (the header has '
                      || size(:columns) || ') or a carriage return inside') IS NULL
),
typed AS (
    SELECT
        line,
        src(id) AS imdb_id,
        src(tituloPincipal) AS title,
        src(tituloOriginal) AS original_title,
        as_int(anoLancamento) AS release_year,
        as_int(anoTermino) AS end_year,
        as_int(tempoMinutos) AS runtime_minutes,
        src(genero) AS genres_text,
        as_double(notaMedia) AS imdb_rating,
        as_bigint(numeroVotos) AS imdb_votes,
        src(generoArtista) AS artist_gender,
        src(personagem) AS character_name,
        src(nomeArtista) AS artist_name,
        as_int(anoNascimento) AS birth_year,
        as_int(anoFalecimento) AS death_year,
        src(profissao) AS professions_text,
        src(titulosMaisConhecidos) AS known_for_titles_text,
        raw,
        nullif(concat_ws('; ',
            CASE WHEN src(id) IS NULL THEN 'id is missing'
                 WHEN NOT regexp_full_match(id, 'tt[0-9]{7,18}')
                 THEN 'id \'' || id || '\' is not an IMDb id (tt + 7 or more digits)' END,
            bad(anoLancamento, release_year, 'anoLancamento', 'a whole number'),
            bad(anoTermino, end_year, 'anoTermino', 'a whole number'),
            bad(tempoMinutos, runtime_minutes, 'tempoMinutos', 'a whole number'),
            bad(notaMedia, imdb_rating, 'notaMedia', 'a decimal number'),
            bad(numeroVotos, imdb_votes, 'numeroVotos', 'a whole number'),
            bad(anoNascimento, birth_year, 'anoNascimento', 'a whole number'),
            bad(anoFalecimento, death_year, 'anoFalecimento', 'a whole number')
        ), '') AS type_problems
    FROM scanned
),
checked AS (
    SELECT *, coalesce(type_problems, csv_row_problems(typed)) AS reason FROM typed
)
SELECT * EXCEPT (raw, type_problems),
       CASE WHEN reason IS NOT NULL THEN raw END AS raw,
       md5(raw) AS row_hash
FROM checked;

-- Exact duplicate lines among the typeable ones: the first copy (smallest line) is kept.
CREATE OR REPLACE TEMP TABLE csv_first AS
SELECT min(line) AS first, count(*) AS copies
FROM csv_typed
WHERE reason IS NULL
GROUP BY row_hash;

-- row_index: the line's place among the data lines (0 = line 2), as DuckDB's rowid.
CREATE OR REPLACE TEMP VIEW csv_trusted AS
SELECT line - 2 AS row_index, imdb_id, title, original_title, release_year, end_year, runtime_minutes,
       as_list(genres_text) AS genres, imdb_rating, imdb_votes, artist_gender, character_name,
       artist_name, birth_year, death_year, as_list(professions_text) AS professions,
       as_list(known_for_titles_text) AS known_for_titles
FROM csv_typed
WHERE reason IS NULL AND line IN (SELECT first FROM csv_first);

CREATE OR REPLACE TEMP VIEW csv_quarantine AS
SELECT line, raw, reason FROM csv_typed WHERE reason IS NOT NULL;

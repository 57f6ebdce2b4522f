"""moviedl.engines.spark.sql: how the Spark engine turns moviedl's DuckDB SQL into Spark SQL (no JVM needed).

What the translated SQL computes is proven in tests/test_spark_engine.py, against DuckDB.
"""

from __future__ import annotations

from importlib import resources

import pytest

from moviedl.checks.values import RULES, rule_problems
from moviedl.engines.base import sql_for
from moviedl.engines.spark.sql import TranslationError, Translator, bind, split_script, split_text

SQL = resources.files("moviedl") / "sql"
#: the refine scripts: each has a Spark text of its own or is translated
REFINE_SCRIPTS = [
    "trusted_csv", "trusted_tmdb_read", "trusted_tmdb_movies", "trusted_tmdb_series",
    "trusted_tmdb_finish", "norm", "refined", "refined_expected_rows", "validate_trusted_pairs",
]


def one(text: str, dialect: str = "duckdb", translator: Translator | None = None):
    found = (translator or Translator()).statements(text, dialect)
    assert len(found) == 1
    return found[0]


def test_a_macro_is_inlined_where_it_is_called_not_sent_to_spark() -> None:
    sql = Translator()
    assert sql.statement("CREATE OR REPLACE TEMP MACRO twice(x) AS x * 2").kind == "macro"
    assert one("SELECT twice(a + 1) AS b FROM t", translator=sql).sql == "SELECT (a + 1) * 2 AS b FROM t"


def test_macros_call_macros_and_a_row_parameter_names_the_relation() -> None:
    sql = Translator()
    sql.statement(f"CREATE OR REPLACE TEMP MACRO csv_row_problems(r) AS {rule_problems(list(RULES)[:1], row='r')}")
    sql.statement("CREATE TEMP MACRO wrap(v) AS coalesce(v, csv_row_problems(typed))")
    text = one("SELECT wrap(p) AS reason FROM typed", translator=sql).sql
    assert "typed.`imdb_rating` BETWEEN 0 AND 10" in text and "csv_row_problems" not in text


def test_a_macro_called_with_the_wrong_arguments_is_refused() -> None:
    sql = Translator()
    sql.statement("CREATE TEMP MACRO twice(x) AS x * 2")
    with pytest.raises(TranslationError, match="takes 1 argument"):
        one("SELECT twice(1, 2)", translator=sql)


def test_trim_lower_and_full_match_keep_their_duckdb_meaning() -> None:
    text = one("SELECT lower(trim(s)) AS k FROM t WHERE regexp_full_match(s, 'tt[0-9]{7,}')").sql
    assert "TRIM(" not in text  # Spark's trim removes ASCII spaces only
    assert "REGEXP_REPLACE(s, '^[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+" in text
    assert "LOWER(REPLACE(REPLACE(" in text and "'Σ', 'σ')" in text  # no final-sigma rule
    assert "RLIKE CONCAT('^(?:', 'tt[0-9]{7,}', ')\\\\z')" in text


def test_without_icu_nfc_is_the_engines_udf() -> None:
    assert "com.ibm.icu.text.Normalizer" in one("SELECT nfc_normalize(s) FROM t").sql
    plain = Translator(icu=False)
    assert one("SELECT nfc_normalize(s) FROM t", translator=plain).sql == "SELECT NFC_NORMALIZE(s) FROM t"


def test_unnests_side_by_side_are_zipped() -> None:
    text = one("SELECT unnest($a) AS x, unnest($b) AS y").sql
    assert text == "SELECT INLINE(ARRAYS_ZIP(:a, :b)) AS (x, y)"
    with pytest.raises(TranslationError, match="several unnest"):
        one("SELECT unnest($a) AS x, unnest($b) AS y, 1 AS z")


def test_statements_spark_has_none_for_are_classified_for_the_engine() -> None:
    table = one("CREATE OR REPLACE TEMP TABLE q_out AS SELECT $source AS source_file FROM csv_quarantine")
    assert (table.kind, table.name, table.params) == ("table", "q_out", ("source",))
    assert table.sql == "SELECT :source AS source_file FROM csv_quarantine"
    view = one("CREATE OR REPLACE TEMP VIEW v AS SELECT 1 AS a")
    assert (view.kind, view.name) == ("view", "v")
    update = one("UPDATE tmdb_typed SET reason = 'x' WHERE reason IS NULL")
    assert (update.kind, update.name, update.column) == ("update", "tmdb_typed", "reason")
    assert update.sql == "CASE WHEN reason IS NULL THEN 'x' ELSE reason END"
    drops = Translator().statements("DROP TABLE tmdb_raw; DROP VIEW IF EXISTS \"r_latest\"")
    assert [(d.kind, d.name, d.if_exists) for d in drops] == [("drop", "tmdb_raw", False), ("drop", "r_latest", True)]


def test_file_readers_become_views_the_engine_fills() -> None:
    found = one("SELECT line, value FROM read_lines(:path) WHERE line > 1", "spark")
    ((view, reader),) = found.readers.items()
    assert reader == ("read_lines", "path")
    assert found.sql == f"SELECT line, value FROM {view} WHERE line > 1"


def test_parameters_are_bound_not_pasted() -> None:
    found = one("SELECT count(*) FROM v WHERE a = $x AND b IN (SELECT unnest($l))")
    assert "'" not in found.sql and found.params == ("x", "l")
    assert bind({"x": "it's", "l": ("a", "b"), "unused": 1}, found.params) == {"x": "it's", "l": ["a", "b"]}
    with pytest.raises(TranslationError, match="no value for the parameter"):
        bind({}, found.params)


def test_statements_split_on_semicolons_outside_quotes() -> None:
    assert split_text("SELECT ';' AS a; SELECT 2;") == ["SELECT ';' AS a", "SELECT 2"]
    assert split_script("-- c\nSELECT 1\n  AS a;\n-- only a comment\n") == ["-- c\nSELECT 1\n  AS a;"]


@pytest.mark.parametrize("name", REFINE_SCRIPTS)
def test_every_refine_script_becomes_spark_sql(name: str) -> None:
    """Spark's own text where there is one (read as Spark SQL), else the shared file translated;
    the macros the shared TMDB files call come from Spark's trusted_tmdb_read."""
    sql = Translator()
    own = (SQL / f"{name}.spark.sql").is_file()
    if name.startswith("trusted_tmdb_") and name != "trusted_tmdb_read":
        sql.script(sql_for("trusted_tmdb_read", "spark"), "spark")
    if name == "refined_expected_rows":
        sql.script(sql_for("refined", "spark"), "spark")
    if name == "trusted_csv":
        sql.statement("CREATE TEMP MACRO csv_row_problems(r) AS CAST(NULL AS VARCHAR)")
    statements = sql.script(sql_for(name, "spark"), "spark" if own else "duckdb")
    assert statements
    for statement in statements:
        if statement.kind != "macro":
            assert statement.sql and "MACRO" not in statement.sql.upper()


def test_a_number_cast_to_text_is_refused_where_spark_would_spell_it_otherwise() -> None:
    for text, dialect in (("SELECT CAST(x AS VARCHAR) FROM t", "duckdb"), ("SELECT CAST(x AS STRING) FROM t", "spark")):
        found = one(text, dialect).sql
        assert found.startswith("SELECT CASE WHEN TYPEOF(x) IN ('double', 'float')"), found
        assert "RAISE_ERROR(CONCAT('moviedl refused: the number '" in found


def test_without_variant_the_tmdb_script_calls_the_engines_json_functions() -> None:
    """Spark 3.5 (AWS Glue 5.0) has no VARIANT: every use of it in the TMDB typing becomes one
    of the engine's JSON functions; a use with no rewrite is an error, not Spark's."""
    query = "SELECT f(json, '$.x') AS a, j_names(json, '$.genres') AS b FROM tmdb_raw"
    found = {}
    for variant in (True, False):
        sql = Translator(variant=variant)
        script = " ".join(s.sql for s in sql.script(sql_for("trusted_tmdb_read", "spark"), "spark"))
        found[variant] = script + " " + sql.statement(query, "spark").sql
    assert "try_parse_json(" in found[True].lower() and "moviedl_json" not in found[True]
    for name in ("parse_json", "variant_get", "schema_of_variant"):
        assert name not in found[False].lower()
    for name in ("moviedl_json_kind(", "moviedl_json_array(", "get_json_object(e, '$.name')"):
        assert name in found[False].lower()
    with pytest.raises(TranslationError, match="no VARIANT functions .*is_variant_null"):
        Translator(variant=False).statement("SELECT is_variant_null(parse_json(j)) FROM t", "spark")

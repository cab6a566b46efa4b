"""Tests for the condition sandbox and filter_frame."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ajo_workbench.errors import ConditionError
from ajo_workbench.model.conditions import (
    ALLOWED_FUNCTIONS,
    ConditionCheck,
    check_condition,
    filter_frame,
)

WHERE = "activities[0].where"
FILE_FUNCTIONS = ["read_csv", "read_parquet", "read_json", "read_ipc", "read_ndjson"]


def population() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "profile_id": [1, 2, 3, 4],
            "country": ["FR", "BE", "DE", "FR"],
            "loyalty_tier": ["gold", "gold", "silver", None],
            "email": ["a@example.com", "B@EXAMPLE.COM", "c@other.org", None],
            "total_spent": [600.0, None, 900.0, 100.0],
            "created_at": [
                datetime(2026, 5, 1),
                datetime(2026, 6, 2),
                datetime(2026, 7, 3),
                datetime(2026, 6, 1),
            ],
        }
    )


def tables() -> dict[str, pl.LazyFrame]:
    purchases = pl.LazyFrame(
        {"profile_id": [1, 3, 3, 4], "amount": [150.0, 20.0, 30.0, 99.0]}
    )
    return {"purchases": purchases}


def ids(text: str) -> list[int]:
    frame = filter_frame(tables(), population(), text, where=WHERE).collect()
    return sorted(frame["profile_id"].to_list())


def refused(text: str) -> str:
    with pytest.raises(ConditionError) as info:
        check_condition(text, where=WHERE)
    message = str(info.value)
    assert message.startswith(f"{WHERE}: ")
    return message


# ------------------------------------------------------------------ accepted


@pytest.mark.parametrize(
    "text",
    [
        "loyalty_tier = 'gold' AND country IN ('FR', 'BE')",
        "created_at >= TIMESTAMP '2026-06-01 00:00:00'",
        "profile_id IN (SELECT profile_id FROM purchases WHERE amount >= 100)",
        "lower(email) LIKE '%@example.com' AND coalesce(total_spent, 0) > 500",
        "EXTRACT(year FROM created_at) = 2026",
        "CASE WHEN total_spent > 500 THEN TRUE ELSE FALSE END",
        "total_spent BETWEEN 100 AND 700",
        "email IS NULL OR loyalty_tier IS NOT NULL",
        "profile_id NOT IN (SELECT profile_id FROM purchases)",
        "((country = 'FR') AND (NOT (total_spent < 200)))",
        "EXISTS (SELECT 1 FROM purchases p WHERE p.profile_id = 1)",
        "cast(total_spent AS decimal(10, 2)) > 1 AND profile_id::varchar = '1'",
        "a IS DISTINCT FROM b",
        "substring(email FROM 1 FOR 2) = 'ab'",
        "x IN (SELECT pid FROM a UNION ALL SELECT pid FROM b)",
        "x IN (SELECT q.pid FROM (SELECT pid FROM a) AS q)",
        "regexp_like(email, '^\\d+@')",
        "email = 'it''s'",
        '"Odd Column" = 1',
    ],
)
def test_accepted_conditions_return_a_check(text: str) -> None:
    assert isinstance(check_condition(text), ConditionCheck)


def test_check_collects_tables_and_identifiers() -> None:
    check = check_condition(
        "profile_id IN (SELECT p.profile_id FROM purchases AS p "
        "JOIN Orders o ON p.order_id = o.id WHERE p.amount >= 100) "
        "AND lower(email) LIKE '%x' AND EXTRACT(year FROM created_at) = 2026"
    )

    assert check.tables == frozenset({"purchases", "Orders"})
    assert check.identifiers == frozenset(
        {"profile_id", "order_id", "id", "amount", "email", "created_at"}
    )


def test_check_keeps_quoted_names_as_written() -> None:
    check = check_condition('"Loyalty ""Tier""" = 1 AND x IN (SELECT a FROM "T")')

    assert check.tables == frozenset({"T"})
    assert check.identifiers == frozenset({'Loyalty "Tier"', "x", "a"})


# ------------------------------------------------------------------- refused


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_condition_is_refused(text: str) -> None:
    assert "condition is empty" in refused(text)


def test_condition_over_10000_characters_is_refused() -> None:
    text = "a = " + "1" * 9_997

    assert len(text) == 10_001
    assert "at most 10000 characters" in refused(text)


def test_condition_of_10000_characters_is_accepted() -> None:
    text = "a = " + "1" * 9_996

    assert len(text) == 10_000
    assert check_condition(text).identifiers == frozenset({"a"})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("country = 'FR", r"unterminated string starting at position 10"),
        ("country = 'it''s", r"unterminated string starting at position 10"),
        ('"country = 1', r"unterminated quoted identifier starting at position 0"),
    ],
)
def test_unterminated_quotes_are_refused(text: str, match: str) -> None:
    with pytest.raises(ConditionError, match=match):
        check_condition(text, where=WHERE)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1=1) OR (1=1", r"unmatched '\)' at position 3"),
        ("a = 1)", r"unmatched '\)' at position 5"),
        ("(a = 1", r"'\(' at position 0 is never closed"),
        ("lower(a = 'x'", r"'\(' at position 5 is never closed"),
    ],
)
def test_unbalanced_parentheses_are_refused(text: str, match: str) -> None:
    with pytest.raises(ConditionError, match=match):
        check_condition(text, where=WHERE)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a = 1; DROP TABLE purchases", r"';' .* at position 5"),
        ("a = 1 -- comment", r"comment '--' .* at position 6"),
        ("a /* x */ = 1", r"comment '/\*' .* at position 2"),
        ("a = 1 \\ 2", r"backslash .* at position 6"),
        ("a = $1", r"unexpected character '\$' at position 4"),
        ("a # 1", r"unexpected character '#' at position 2"),
        ("a = ?", r"unexpected character '\?' at position 4"),
        ("a = E'x'", r"string prefix 'E' at position 4"),
        ("a = X'78'", r"string prefix 'X' at position 4"),
    ],
)
def test_statement_separators_comments_and_odd_characters_are_refused(
    text: str, match: str
) -> None:
    with pytest.raises(ConditionError, match=match):
        check_condition(text, where=WHERE)


@pytest.mark.parametrize("name", FILE_FUNCTIONS)
def test_file_functions_are_refused_as_scalar_calls(name: str) -> None:
    message = refused(f"{name}('/etc/passwd') IS NOT NULL")

    assert f"refused function '{name}' at position 0" in message
    assert "allowed are abs, avg" in message


@pytest.mark.parametrize("name", FILE_FUNCTIONS)
def test_file_functions_are_refused_at_top_level(name: str) -> None:
    with pytest.raises(ConditionError, match="misplaced keyword 'SELECT'"):
        check_condition(f"SELECT * FROM {name}('/etc/passwd')", where=WHERE)

    with pytest.raises(ConditionError, match=f"refused '{name}' at position 10"):
        check_condition(f"1 IN FROM {name}('/etc/passwd')", where=WHERE)

    with pytest.raises(ConditionError, match=f"refused function '{name}'"):
        check_condition(f"a = 1 OR {name}('x') = 1", where=WHERE)


@pytest.mark.parametrize("name", FILE_FUNCTIONS)
@pytest.mark.parametrize(
    "template",
    [
        "x IN (SELECT a FROM {f}('/etc/passwd'))",
        "x IN (SELECT a FROM purchases, {f}('/etc/passwd'))",
        "x IN (SELECT a FROM purchases JOIN {f}('/etc/passwd') ON TRUE)",
        "EXISTS (SELECT 1 FROM {f} ('/etc/passwd'))",
        "x IN (SELECT a FROM \"{f}\"('/etc/passwd'))",
    ],
)
def test_file_functions_are_refused_in_subquery_from(name: str, template: str) -> None:
    message = refused(template.format(f=name))

    assert f"'{name}'" in message
    assert "from/join must name a table" in message


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("scan_csv('x') = 1", r"refused function 'scan_csv'"),
        ("mean(a) > 1", r"refused function 'mean'"),
        ('"lower"(a) = 1', r"refused quoted function name 'lower'"),
        ("t.lower(a) = 1", r"refused qualified function name 'lower'"),
        ("EXTRACT(year FROM read_csv('x')) = 1", r"refused function 'read_csv'"),
        ("CAST(a AS read_csv('x')) = 1", r"refused type 'read_csv'"),
        ("a::read_csv('x') = 1", r"refused type 'read_csv'"),
        ("x IN (SELECT a FROM t AS q(a))", r"refused function 'q'"),
    ],
)
def test_unlisted_calls_are_refused(text: str, match: str) -> None:
    with pytest.raises(ConditionError, match=match):
        check_condition(text, where=WHERE)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("lpad(country, 1000000000) = 'x'", r"refused lpad length '1000000000' at"),
        ("rpad(country, 1001) = 'x'", r"refused rpad length '1001' at position 14"),
        ("lpad(country, length(email)) = 'x'", r"refused lpad length 'length'"),
        ("lpad(country, 2 * 500) = 'x'", r"refused lpad length '2'"),
        ("lpad(country, 2.5) = 'x'", r"refused lpad length '2.5'"),
        ("lpad(lpad(country, 3), 5000) = 'x'", r"refused lpad length '5000'"),
    ],
)
def test_padding_lengths_are_small_literals(text: str, match: str) -> None:
    with pytest.raises(ConditionError, match=match) as refused:
        check_condition(text, where=WHERE)
    assert "a whole number from 0 to 1000" in str(refused.value)


def test_a_padded_condition_filters() -> None:
    frame = filter_frame(
        tables(), population(), "lpad(country, 4, '_') = '__FR'", where=WHERE
    ).collect()
    assert frame["country"].unique().to_list() == ["FR"]
    assert check_condition("rpad(country, 1000) <> ''", where=WHERE)


@pytest.mark.parametrize(
    "keyword",
    [
        "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "ATTACH",
        "COPY", "PRAGMA", "SET", "SHOW", "EXPLAIN", "TRUNCATE", "WITH", "INTO",
    ],
)  # fmt: skip
def test_statement_keywords_are_refused(keyword: str) -> None:
    message = refused(f"a = 1 AND {keyword} x")

    assert f"refused statement keyword '{keyword}' at position 10" in message


def test_with_and_into_are_refused_inside_subqueries() -> None:
    with pytest.raises(ConditionError, match="keyword 'WITH'"):
        check_condition("x IN (WITH q AS (SELECT 1) SELECT * FROM q)")

    with pytest.raises(ConditionError, match="keyword 'INTO'"):
        check_condition("x IN (SELECT a INTO b FROM t)")


def test_wall_clock_keywords_are_refused() -> None:
    with pytest.raises(ConditionError, match="wall-clock keyword 'CURRENT_DATE'"):
        check_condition("created_at > CURRENT_DATE")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x IN (SELECT a FROM 'x.csv')", r"refused \"'x.csv'\" at position 20"),
        ("x IN (SELECT a FROM t JOIN 'f.csv' ON TRUE)", r"refused \"'f.csv'\" at"),
        ("x IN (SELECT a FROM t, 'f.csv')", r"refused \"'f.csv'\" at"),
        ("x IN (SELECT a FROM t.u)", r"refused 't' at position 20"),
        ("x IN (SELECT a FROM (VALUES (1)))", r"refused '\(' at position 20"),
        ("x IN (SELECT a FROM)", r"refused '\)' at position 19"),
        ("x IN (SELECT a FROM where)", r"refused 'where'"),
    ],
)
def test_from_must_name_a_table_or_subquery(text: str, match: str) -> None:
    with pytest.raises(ConditionError, match=f"from/join must name a table, {match}"):
        check_condition(text, where=WHERE)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("SELECT 1", 0),
        ("a = 1 AND SELECT 1", 10),
        ("x IN (SELECT a FROM t) UNION SELECT 1", 29),
    ],
)
def test_select_outside_a_subquery_is_refused(text: str, position: int) -> None:
    message = refused(text)

    assert f"misplaced keyword 'SELECT' at position {position}" in message


# --------------------------------------------------------------- filter_frame


def test_filter_frame_returns_matching_rows() -> None:
    frame = filter_frame(
        tables(),
        population(),
        "loyalty_tier = 'gold' AND country IN ('FR', 'BE')",
        where=WHERE,
    ).collect()

    assert frame["profile_id"].to_list() == [1, 2]
    assert frame["country"].to_list() == ["FR", "BE"]
    assert frame.columns == population().collect_schema().names()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("created_at >= TIMESTAMP '2026-06-01 00:00:00'", [2, 3, 4]),
        ("profile_id IN (SELECT profile_id FROM purchases WHERE amount >= 100)", [1]),
        ("lower(email) LIKE '%@example.com' AND coalesce(total_spent, 0) > 500", [1]),
        ("EXTRACT(month FROM created_at) = 6", [2, 4]),
        ("profile_id NOT IN (SELECT profile_id FROM purchases)", [2]),
        ("total_spent BETWEEN 100 AND 700", [1, 4]),
        ("email IS NULL", [4]),
        ("CASE WHEN country = 'FR' THEN total_spent > 500 ELSE FALSE END", [1]),
        (
            "EXISTS (SELECT 1 FROM purchases p "
            "WHERE p.profile_id = __population.profile_id AND p.amount < 50)",
            [3],
        ),
        ("profile_id IN (SELECT profile_id FROM PURCHASES)", [1, 3, 4]),
        ("country = 'a\\' OR profile_id = 2", [2]),
        ("NULL", []),
    ],
)
def test_filter_frame_rows(text: str, expected: list[int]) -> None:
    assert ids(text) == expected


def test_unknown_table_is_refused() -> None:
    with pytest.raises(
        ConditionError,
        match=r"^activities\[0\]\.where: unknown table 'orders' \(tables: purchases\)",
    ):
        ids("profile_id IN (SELECT profile_id FROM orders)")


def test_population_is_not_a_table_for_subqueries() -> None:
    with pytest.raises(ConditionError, match="unknown table '__population'"):
        ids("profile_id IN (SELECT profile_id FROM __population)")


def test_unknown_column_names_the_column_and_the_columns() -> None:
    with pytest.raises(ConditionError) as info:
        ids("countryy = 'FR'")

    assert str(info.value) == (
        "activities[0].where: unknown column 'countryy' (columns: profile_id, "
        "country, loyalty_tier, email, total_spent, created_at)"
    )


def test_unknown_column_in_a_subquery_lists_that_table() -> None:
    with pytest.raises(
        ConditionError,
        match=r"unknown column 'amountt' \(columns: profile_id, amount\)",
    ):
        ids("profile_id IN (SELECT profile_id FROM purchases WHERE amountt > 1)")


@pytest.mark.parametrize("text", ["country", "total_spent + 1", "lower(email)"])
def test_non_boolean_condition_is_refused(text: str) -> None:
    with pytest.raises(ConditionError, match="condition must be a boolean expression"):
        ids(text)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("profile_id = 'x'", "cannot compare string with numeric type"),
        ("lower(profile_id) = 'a'", "expected `String`"),
        ("country = ", r"sql parser error: .* at position 10$"),
        ("country = 'FR' 'BE'", r"sql parser error: .* at position 15$"),
    ],
)
def test_polars_errors_become_condition_errors(text: str, match: str) -> None:
    with pytest.raises(ConditionError, match=match) as info:
        ids(text)

    assert "\n" not in str(info.value)
    assert "polars cannot run the condition" in str(info.value)


@pytest.mark.parametrize("text", ["greatest() IS NULL", "coalesce() IS NULL"])
def test_polars_panics_become_condition_errors(text: str) -> None:
    with pytest.raises(ConditionError, match="polars failed internally"):
        ids(text)


def test_type_errors_are_found_before_collect() -> None:
    with pytest.raises(ConditionError, match="`year` operation not supported"):
        filter_frame(tables(), population(), "EXTRACT(year FROM country) = 2026")


def test_filter_frame_is_lazy_and_reads_the_population_under_its_name() -> None:
    result = filter_frame({}, population(), "__population.profile_id = 3")

    assert isinstance(result, pl.LazyFrame)
    assert result.collect()["country"].to_list() == ["DE"]


def test_filter_frame_refuses_what_check_condition_refuses() -> None:
    with pytest.raises(ConditionError, match="must name a table, refused 'read_csv'"):
        ids("profile_id IN (SELECT 1 FROM read_csv('/etc/passwd'))")


# Sample calls that prove each allowed function is known to polars 2.1 SQL.
SAMPLES = {
    "lower": "lower(email)", "upper": "upper(email)", "length": "length(email)",
    "char_length": "char_length(email)",
    "character_length": "character_length(email)",
    "octet_length": "octet_length(email)", "substr": "substr(email, 1, 2)",
    "substring": "substring(email, 1, 2)", "trim": "trim(email)",
    "ltrim": "ltrim(email)", "rtrim": "rtrim(email)",
    "concat": "concat(email, 'x')", "concat_ws": "concat_ws('-', email, 'x')",
    "starts_with": "starts_with(email, 'a')", "ends_with": "ends_with(email, 'm')",
    "strpos": "strpos(email, '@')", "position": "position('@' IN email)",
    "replace": "replace(email, 'a', 'b')", "left": "left(email, 2)",
    "right": "right(email, 2)", "regexp_like": "regexp_like(email, '^a')",
    "regexp_replace": "regexp_replace(email, 'a', 'b')",
    "reverse": "reverse(email)", "initcap": "initcap(email)",
    "split_part": "split_part(email, '@', 1)", "lpad": "lpad(email, 3)",
    "rpad": "rpad(email, 3)", "abs": "abs(total_spent)",
    "round": "round(total_spent, 1)", "floor": "floor(total_spent)",
    "ceil": "ceil(total_spent)", "ceiling": "ceiling(total_spent)",
    "trunc": "trunc(total_spent)", "sqrt": "sqrt(total_spent)",
    "cbrt": "cbrt(total_spent)", "power": "power(profile_id, 2)",
    "pow": "pow(profile_id, 2)", "mod": "mod(profile_id, 2)",
    "div": "div(profile_id, 2)", "greatest": "greatest(profile_id, 2)",
    "least": "least(profile_id, 2)", "sign": "sign(total_spent)",
    "ln": "ln(total_spent)", "log": "log(total_spent, 10)",
    "log2": "log2(total_spent)", "log10": "log10(total_spent)",
    "log1p": "log1p(total_spent)", "exp": "exp(profile_id)", "pi": "pi()",
    "degrees": "degrees(total_spent)", "radians": "radians(total_spent)",
    "coalesce": "coalesce(total_spent, 0)", "nullif": "nullif(profile_id, 3)",
    "ifnull": "ifnull(total_spent, 0)", "if": "if(profile_id > 2, 1, 0)",
    "date_part": "date_part('year', created_at)",
    "extract": "extract(year FROM created_at)", "date": "date('2026-01-01')",
    "timestamp": "timestamp('2026-01-01 00:00:00')",
    "strftime": "strftime(created_at, '%Y')",
    "strptime": "strptime('2026', '%Y')",
    "date_trunc": "date_trunc('month', created_at)",
    "cast": "cast(profile_id AS VARCHAR)", "try_cast": "try_cast(email AS INT)",
    "count": "(SELECT count(*) FROM purchases)",
    "sum": "(SELECT sum(amount) FROM purchases)",
    "min": "(SELECT min(amount) FROM purchases)",
    "max": "(SELECT max(amount) FROM purchases)",
    "avg": "(SELECT avg(amount) FROM purchases)",
    "median": "(SELECT median(amount) FROM purchases)",
    "stddev": "(SELECT stddev(amount) FROM purchases)",
    "variance": "(SELECT variance(amount) FROM purchases)",
    "first": "(SELECT first(amount) FROM purchases)",
    "last": "(SELECT last(amount) FROM purchases)",
}  # fmt: skip


def test_every_allowed_function_has_a_sample() -> None:
    assert set(SAMPLES) == set(ALLOWED_FUNCTIONS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_allowed_function_runs_in_polars(name: str) -> None:
    frame = filter_frame(
        tables(), population(), f"({SAMPLES[name]}) IS NOT NULL OR TRUE"
    ).collect()

    assert frame.height == 4


# ----------------------------------------------------------------- properties


@given(st.text(max_size=200))
@settings(max_examples=500, deadline=None)
def test_check_condition_only_raises_condition_error(text: str) -> None:
    try:
        result = check_condition(text)
    except ConditionError:
        return
    assert isinstance(result, ConditionCheck)


SQLISH = st.lists(
    st.sampled_from(
        [
            "profile_id", "country", "'FR'", "1", "2.5", "=", "<>", ">", "AND",
            "OR", "NOT", "IN", "(", ")", ",", "SELECT", "FROM", "WHERE",
            "purchases", "amount", "IS", "NULL", "lower", "coalesce", "+", "*",
            "CASE", "WHEN", "THEN", "ELSE", "END", "BETWEEN", "LIKE", "'%x'",
            "read_csv", "'x.csv'", "EXISTS", "count", "TRUE", "::", "int",
        ]
    ),
    max_size=25,
).map(" ".join)  # fmt: skip


ATOMS = st.sampled_from(
    [
        "profile_id", "country", "email", "total_spent", "created_at", "'FR'",
        "1", "-1", "2.5", "NULL", "TRUE", "TIMESTAMP '2026-06-01 00:00:00'",
        "99999999999999999999999", "''",
    ]
)  # fmt: skip
OPERATORS = st.sampled_from(["=", "<>", ">=", "+", "*", "/", "||", "AND", "OR"])
FUNCTIONS = st.sampled_from(sorted(ALLOWED_FUNCTIONS - {"extract", "position"}))


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, OPERATORS, children).map(" ".join),
        st.tuples(FUNCTIONS, st.lists(children, max_size=3)).map(
            lambda call: f"{call[0]}({', '.join(call[1])})"
        ),
        children.map(lambda inner: f"NOT ({inner})"),
        children.map(lambda inner: f"({inner}) IS NULL"),
        st.tuples(children, children).map(
            lambda pair: (
                f"{pair[0]} IN (SELECT profile_id FROM purchases WHERE {pair[1]})"
            )
        ),
    )


EXPRESSIONS = st.recursive(ATOMS, _grow, max_leaves=6)


@given(st.one_of(st.text(max_size=80), SQLISH, EXPRESSIONS))
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_filter_frame_only_raises_condition_error(text: str) -> None:
    try:
        result = filter_frame(tables(), population(), text)
    except ConditionError:
        return
    assert isinstance(result, pl.LazyFrame)

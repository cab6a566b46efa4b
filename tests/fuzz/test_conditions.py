"""Fuzzed SQL conditions (SPEC §3, §5, §12): clear errors, and a closed sandbox.

Which error, where:

- ``check_condition`` and ``filter_frame`` (the model layer) raise
  :class:`~ajo_workbench.errors.ConditionError`. A refusal of the sandbox is raised
  *before polars sees the text*: the error has no ``__cause__`` (errors polars
  raised carry theirs).
- ``Workspace.validate`` turns the same refusal into an error alert of the activity
  (``BAD_CONDITION``, or ``UNKNOWN_TABLE`` for a table name that is a path), and
  Start is then refused with a :class:`~ajo_workbench.errors.LifecycleError` that
  lists the alerts; ``ValidationError`` is not raised by these calls.

"Nothing read" is checked with Linux inotify on a canary file: polars' own SQL engine
opens it for ``read_csv(...)`` (so the threat is real), the sandbox never does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ajo_workbench as ajo
from ajo_workbench.model.conditions import (
    ALLOWED_FUNCTIONS,
    MAX_LENGTH,
    ConditionCheck,
    check_condition,
    filter_frame,
)

WHERE = "activities[0].where"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
IN_ACCESS, IN_OPEN = 0x001, 0x020


# ------------------------------------------------------------ the canary


class FileWatch:
    """Counts opens and reads of one file through inotify."""

    def __init__(self, path: Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        watch = libc.inotify_add_watch(
            self._fd, str(path).encode(), IN_OPEN | IN_ACCESS
        )
        if watch < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch failed on {path}")

    def events(self) -> int:
        """Opens and reads since the last call."""
        count = 0
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return count
            offset = 0
            while offset < len(data):
                _, _, _, length = struct.unpack_from("iIII", data, offset)
                offset += 16 + length
                count += 1

    def close(self) -> None:
        os.close(self._fd)


@pytest.fixture(scope="module")
def canary(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, FileWatch]]:
    """A CSV outside the workspace, watched; the watch proves it sees a plain read."""
    path = tmp_path_factory.mktemp("outside") / "secret.csv"
    path.write_text("profile_id,secret\n1,s3cret\n", encoding="utf-8")
    watch = FileWatch(path)
    path.read_text(encoding="utf-8")
    assert watch.events() >= 2, "inotify did not see the canary being read"
    yield path, watch
    watch.close()


@contextmanager
def nothing_read(canary: tuple[Path, FileWatch]) -> Iterator[None]:
    _, watch = canary
    watch.events()
    yield
    assert watch.events() == 0, "the canary file was opened or read"


def test_polars_sql_on_its_own_reads_files(canary: tuple[Path, FileWatch]) -> None:
    path, watch = canary
    watch.events()
    ctx = pl.SQLContext({"p": pl.LazyFrame({"profile_id": [1]})})

    rows = ctx.execute(
        f"SELECT * FROM p WHERE profile_id IN "
        f"(SELECT profile_id FROM read_csv('{path}'))"
    ).collect()

    assert rows.height == 1
    assert watch.events() > 0


# ------------------------------------------------------------ the sandbox

FILE_FUNCTIONS = [
    "read_csv", "read_parquet", "read_json", "read_ndjson", "read_ipc",
    "scan_csv", "scan_parquet", "scan_ipc", "scan_ndjson", "read_delta",
    "read_excel", "read_avro", "read_database", "read_lines", "scan_lines",
    "generate_series", "range", "unnest",
]  # fmt: skip
FORMS = [
    "{f}('{p}') IS NOT NULL",
    "profile_id IN (SELECT profile_id FROM {f}('{p}'))",
    "profile_id IN (SELECT * FROM {f}('{p}'))",
    "profile_id IN (SELECT profile_id FROM purchases JOIN {f}('{p}') ON TRUE)",
    "profile_id IN (SELECT profile_id FROM purchases, {f}('{p}'))",
    "profile_id IN (SELECT profile_id FROM purchases, LATERAL {f}('{p}'))",
    "EXISTS (SELECT 1 FROM {f} ('{p}'))",
    "EXISTS (SELECT 1 FROM {f}\n('{p}'))",
    "profile_id IN (SELECT 1 UNION SELECT profile_id FROM {f}('{p}'))",
    "profile_id IN (SELECT profile_id FROM purchases WHERE profile_id IN "
    "(SELECT profile_id FROM {f}('{p}')))",
    "profile_id IN (SELECT profile_id FROM \"{f}\"('{p}'))",
    "profile_id IN (SELECT profile_id FROM pl.{f}('{p}'))",
    "lower({f}('{p}')) = 'x'",
    "CAST({f}('{p}') AS int) = 1",
    "1 = 1) OR profile_id IN (SELECT profile_id FROM {f}('{p}')) OR (1 = 1",
]
OTHER_ESCAPES = [
    # table names that are paths
    "profile_id IN (SELECT profile_id FROM '{p}')",
    'profile_id IN (SELECT profile_id FROM "{p}")',
    "profile_id IN (SELECT profile_id FROM \"{p}\" AS s)",
    "profile_id IN (SELECT profile_id FROM purchases JOIN '{p}' ON TRUE)",
    "profile_id IN (SELECT profile_id FROM ./secret.csv)",
    "profile_id IN (SELECT profile_id FROM `{p}`)",
    # statements
    "COPY profiles TO '{p}'",
    "1 = 1 AND COPY (SELECT 1) TO '{p}'",
    "ATTACH '{p}' AS other",
    "1 = 1 OR ATTACH DATABASE '{p}'",
    "CREATE TABLE x AS SELECT * FROM read_csv('{p}')",
    "1 = 1 AND CREATE TABLE x (a int)",
    "DROP TABLE profiles",
    "profile_id IN (DELETE FROM profiles)",
    "INSERT INTO profiles VALUES (1)",
    "profile_id IN (WITH s AS (SELECT * FROM read_csv('{p}')) SELECT * FROM s)",
    "profile_id IN (SELECT profile_id INTO copied FROM profiles)",
    "SHOW TABLES", "EXPLAIN SELECT 1", "TRUNCATE profiles", "SET x = 1",
    "PRAGMA table_info", "INSTALL httpfs", "DESCRIBE profiles", "ALTER TABLE x",
    "UPDATE profiles SET first_name = 'x'",
    # chained statements and comments
    "1 = 1; SELECT * FROM read_csv('{p}')",
    "1 = 1;DROP TABLE profiles",
    "1 = 1 ; COPY profiles TO '{p}'",
    "1 = 1 -- ; SELECT * FROM read_csv('{p}')",
    "1 = 1 /* */ OR profile_id IN (SELECT * FROM read_csv('{p}'))",
    # system and python functions
    "pg_read_file('{p}') IS NOT NULL",
    "pg_ls_dir('/') IS NOT NULL",
    "pg_sleep(10) IS NULL",
    "version() = ''",
    "current_database() = ''",
    "current_user() = ''",
    "eval('1') = 1",
    "__import__('os') IS NULL",
    "sql('SELECT 1') = 1",
    "col('profile_id') = 1",
    "CURRENT_TIMESTAMP > TIMESTAMP '2026-01-01 00:00:00'",
    "now() > TIMESTAMP '2026-01-01 00:00:00'",
    # smuggling
    "profile_id = E'\\x31'",
    "profile_id = U&'\\0031'",
    "profile_id = $$1$$",
    "\uff52\uff45\uff41\uff44_csv('{p}') IS NULL",  # full-width letters
    "READ_CSV('{p}') IS NOT NULL",
    "Read_Csv('{p}') IS NOT NULL",
]  # fmt: skip
PAYLOADS = [form.format(f=f, p="{p}") for f in FILE_FUNCTIONS for form in FORMS]
PAYLOADS += OTHER_ESCAPES


@pytest.fixture(scope="module")
def scans(module_workspace: ajo.Workspace) -> dict[str, pl.LazyFrame]:
    return module_workspace.tables.scans()


def refused_before_polars(
    scans: dict[str, pl.LazyFrame], text: str
) -> ajo.ConditionError:
    with pytest.raises(ajo.ConditionError) as info:
        filter_frame(scans, scans["profiles"], text, where=WHERE)
    error = info.value
    assert str(error).startswith(f"{WHERE}: ")
    assert error.__cause__ is None, f"polars saw the text: {error.__cause__!r}"
    return error


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_sandbox_refuses_and_reads_nothing(
    scans: dict[str, pl.LazyFrame], canary: tuple[Path, FileWatch], payload: str
) -> None:
    text = payload.replace("{p}", str(canary[0]))

    with nothing_read(canary):
        error = refused_before_polars(scans, text)

    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("read_csv('{p}') IS NOT NULL", "refused function 'read_csv' at position 0"),
        (
            "profile_id IN (SELECT profile_id FROM read_parquet('{p}'))",
            "from/join must name a table, refused 'read_parquet' at position 38",
        ),
        ('profile_id IN (SELECT profile_id FROM "{p}")', "unknown table '{p}'"),
        ("1 = 1; DROP TABLE profiles", "';' (one condition, no statements)"),
        ("COPY profiles TO '{p}'", "refused statement keyword 'COPY' at position 0"),
        ("ATTACH '{p}' AS other", "refused statement keyword 'ATTACH'"),
        ("pg_read_file('{p}') IS NOT NULL", "refused function 'pg_read_file'"),
        ("now() > 1", "refused function 'now'"),
    ],
)
def test_refusals_say_what_and_where(
    scans: dict[str, pl.LazyFrame],
    canary: tuple[Path, FileWatch],
    payload: str,
    expected: str,
) -> None:
    path = str(canary[0])

    error = refused_before_polars(scans, payload.replace("{p}", path))

    assert expected.replace("{p}", path) in str(error)


@pytest.mark.parametrize(
    "payload",
    [
        "profile_id IN (SELECT profile_id FROM read_csv('{p}'))",
        'profile_id IN (SELECT profile_id FROM "{p}")',
        "COPY profiles TO '{p}'",
        "1 = 1; SELECT * FROM read_csv('{p}')",
    ],
)
def test_a_campaign_with_an_escaping_condition_is_blocked(
    fresh_workspace: ajo.Workspace,
    canary: tuple[Path, FileWatch],
    state_of: Callable[[ajo.Workspace], dict[str, object]],
    payload: str,
) -> None:
    document = {
        "id": "escape",
        "activities": [
            {"id": "who", "type": "build_audience", "where": "profile_id > 0"},
            {
                "id": "filter",
                "type": "split",
                "subsets": [
                    {"label": "a", "where": payload.replace("{p}", str(canary[0]))}
                ],
            },
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "who", "to": "filter"},
            {"id": "t2", "from": "filter", "port": "a", "to": "end"},
        ],
    }

    with nothing_read(canary):
        campaign = fresh_workspace.load_campaign(document)
        alerts = [a for a in campaign.alerts if a.level == "error"]
        before = state_of(fresh_workspace)
        with pytest.raises(ajo.LifecycleError, match="validation found 1 error"):
            campaign.start()

    assert [(a.code, a.activity_id) for a in alerts] in (
        [("BAD_CONDITION", "filter")],
        [("UNKNOWN_TABLE", "filter")],
    )
    assert "activities[1].subsets[0].where" in alerts[0].message
    after = state_of(fresh_workspace)
    changed = {k for k in before | after if before.get(k) != after.get(k)}
    assert changed <= {"db:logs", "db:sqlite_sequence"}, sorted(changed)
    assert campaign.executions == []


# ------------------------------------------------------- generated input

SQL_TOKENS = [
    "profile_id", "country", "email", "created_at", "loyalty_tier", "amount",
    "purchases", "profiles", "__population", "'FR'", "'it''s'", "'", '"', "1",
    "0", "-1", "1e308", "2.5", "NULL", "TRUE", "FALSE", "AND", "OR", "NOT",
    "IN", "IS", "LIKE", "ILIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE",
    "END", "SELECT", "FROM", "WHERE", "JOIN", "ON", "UNION", "ALL", "EXISTS",
    "AS", "CAST", "INT", "TIMESTAMP", "'2026-06-01 00:00:00'", "(", ")", ",",
    "=", "<>", "<", ">=", "+", "-", "*", "/", "%", "||", "::", ".", ";", "--",
    "/*", "lower", "coalesce", "greatest", "read_csv", "abs", "count",
    "EXTRACT", "year", "DISTINCT", "GROUP", "BY", "HAVING", "LIMIT", "ORDER",
]  # fmt: skip
sql_soup = st.lists(st.sampled_from(SQL_TOKENS), min_size=1, max_size=20).map(" ".join)


def run_or_refuse(scans: dict[str, pl.LazyFrame], text: str) -> pl.DataFrame | str:
    """Rows a condition keeps, or the ConditionError's message; nothing else."""
    try:
        frame = filter_frame(scans, scans["profiles"], text, where=WHERE)
    except ajo.ConditionError as error:
        message = str(error)
    else:
        return collected(scans, frame)

    assert message.startswith(f"{WHERE}: ") and "\n" not in message
    return message


def outcome_of(result: pl.DataFrame | str) -> str:
    if isinstance(result, pl.DataFrame):
        return "filtered"
    if result.startswith("data error"):
        return "data error on collect"
    if "polars" in result or "unknown" in result or "boolean" in result:
        return "refused after planning"
    return "refused by the sandbox"


def collected(
    scans: dict[str, pl.LazyFrame], frame: pl.LazyFrame
) -> pl.DataFrame | str:
    try:
        rows = frame.collect()
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as error:
        # filter_frame documents that errors depending on the data (a string
        # that fails a cast) surface only on collect.
        return f"data error: {error}"
    assert rows.columns == scans["profiles"].collect_schema().names()
    return rows


@given(text=sql_soup)
@settings(FUZZ, max_examples=200)
def test_generated_sql_is_refused_or_filters(
    scans: dict[str, pl.LazyFrame], text: str
) -> None:
    result = run_or_refuse(scans, text)

    event(outcome_of(result))
    if isinstance(result, pl.DataFrame):
        assert result.height <= 2000


COLUMNS = [
    "profile_id", "country", "email", "created_at", "birth_date", "loyalty_tier",
    "email_consent", "first_name", "missing", '"Country"', "__population.country",
]  # fmt: skip
LITERALS = [
    "1", "-2.5", "0", "'FR'", "''", "NULL", "TRUE", "TIMESTAMP '2026-06-01 00:00:00'",
    "DATE '2026-06-01'", "INTERVAL '1 day'", "1e400", "99999999999999999999",
]  # fmt: skip
FUNCTIONS = sorted(ALLOWED_FUNCTIONS)


@st.composite
def values_of(draw: st.DrawFn, depth: int = 0) -> str:
    choice = draw(st.integers(0, 3 if depth < 2 else 1))
    if choice == 0:
        return draw(st.sampled_from(COLUMNS))
    if choice == 1:
        return draw(st.sampled_from(LITERALS))
    if choice == 2:
        name = draw(st.sampled_from(FUNCTIONS))
        arguments = draw(st.lists(values_of(depth + 1), max_size=3))
        return f"{name}({', '.join(arguments)})"
    operator = draw(st.sampled_from(["+", "-", "*", "/", "%", "||"]))
    return f"({draw(values_of(depth + 1))} {operator} {draw(values_of(depth + 1))})"


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    choice = draw(st.integers(0, 5 if depth < 3 else 2))
    left = draw(values_of())
    if choice == 0:
        operator = draw(st.sampled_from(["=", "<>", "<", ">=", "LIKE", "ILIKE"]))
        return f"{left} {operator} {draw(values_of())}"
    if choice == 1:
        return f"{left} IS {draw(st.sampled_from(['NULL', 'NOT NULL', 'TRUE']))}"
    if choice == 2:
        items = draw(st.lists(st.sampled_from(LITERALS), min_size=1, max_size=3))
        return f"{left} IN ({', '.join(items)})"
    if choice == 3:
        joiner = draw(st.sampled_from(["AND", "OR"]))
        return (
            f"({draw(conditions(depth + 1))}) {joiner} ({draw(conditions(depth + 1))})"
        )
    if choice == 4:
        return f"NOT ({draw(conditions(depth + 1))})"
    table = draw(st.sampled_from(["purchases", "products", "profiles", "nope"]))
    column = draw(st.sampled_from(["profile_id", "amount", "product_id", "nope"]))
    inner = draw(conditions(depth + 1))
    return f"profile_id IN (SELECT {column} FROM {table} WHERE {inner})"


@given(text=conditions())
@settings(FUZZ, max_examples=120)
def test_generated_conditions_are_refused_or_filter(
    scans: dict[str, pl.LazyFrame], text: str
) -> None:
    result = run_or_refuse(scans, text)

    event(outcome_of(result))
    if isinstance(result, pl.DataFrame):
        assert result.height <= 2000


@given(text=st.text(max_size=80))
@FUZZ
def test_random_text_is_checked_without_surprises(text: str) -> None:
    try:
        result: ConditionCheck | str = check_condition(text, where=WHERE)
    except ajo.ConditionError as error:
        result = str(error)

    assert isinstance(result, ConditionCheck) or result.startswith(f"{WHERE}: ")


CONSTRUCTS = {
    "and", "or", "not", "in", "exists", "any", "all", "some", "on", "using",
    "case", "when", "then", "else", "between", "like", "ilike", "select",
    "distinct", "where", "having", "by", "values", "over", "union", "except",
    "intersect", "limit", "offset",
}  # fmt: skip
"""Words the sandbox reads as SQL syntax, not as calls, before a parenthesis."""


@given(
    name=st.from_regex(r"\A[a-z_][a-z0-9_]{0,12}\Z").filter(
        lambda name: name.lower() not in ALLOWED_FUNCTIONS
    ),
    argument=st.sampled_from(["'x'", "profile_id", "", "1, 2", "(SELECT 1)"]),
)
@FUZZ
def test_no_function_outside_the_list_can_be_called(
    scans: dict[str, pl.LazyFrame], name: str, argument: str
) -> None:
    text = f"{name}({argument}) IS NOT NULL"

    try:
        check_condition(text, where=WHERE)
    except ajo.ConditionError as error:
        message = str(error)
    else:
        message = ""

    if name.lower() in CONSTRUCTS:
        run_or_refuse(scans, text)
    else:
        assert message, f"{name}() was let through"


# ---------------------------------------------------------------- size


def test_a_valid_10000_character_condition_filters(
    scans: dict[str, pl.LazyFrame],
) -> None:
    listed = ", ".join(str(i) for i in range(1, 1000))
    text = f"profile_id IN ({listed})"
    text = text[:-1] + " " * (MAX_LENGTH - len(text)) + ")"
    assert len(text) == MAX_LENGTH

    rows = run_or_refuse(scans, text)

    assert isinstance(rows, pl.DataFrame)
    assert sorted(rows["profile_id"].to_list()) == list(range(1, 1000))


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda n: "(" * n + "profile_id > 0" + ")" * n, "recursion limit exceeded"),
        (lambda n: "lower(" * n + "country" + ")" * n + " = 'x'", "recursion limit"),
        (lambda n: "NOT " * n + "profile_id > 0", "sql parser error"),
        (lambda n: "- " * n + "1 > 0", "recursion limit exceeded"),
        (lambda n: "'" + "x" * n, "unterminated string"),
        (lambda n: "profile_id = " + "9" * n, "polars cannot run the condition"),
        (lambda n: "profile_id > 0 AND " * n, "sql parser error"),
        (lambda n: "a" * n + " = 1", "unknown column"),
    ],
)
def test_deep_and_long_conditions_just_under_the_limit(
    scans: dict[str, pl.LazyFrame], build: Callable[[int], str], expected: str
) -> None:
    size = 1
    while len(build(size * 2)) <= MAX_LENGTH:
        size *= 2
    while len(build(size + 1)) <= MAX_LENGTH:
        size += 1
    text = build(size)
    started = time.perf_counter()

    result = run_or_refuse(scans, text)

    assert isinstance(result, str) and expected in result
    assert time.perf_counter() - started < 10


@given(extra=st.integers(1, 5000), filler=st.sampled_from(["1", " ", "(", "a"]))
@settings(FUZZ, max_examples=20)
def test_conditions_over_10000_characters_are_refused(
    scans: dict[str, pl.LazyFrame], extra: int, filler: str
) -> None:
    text = "profile_id = " + filler * (MAX_LENGTH - 13 + extra)

    error = refused_before_polars(scans, text)

    assert f"condition is {len(text)} characters long" in str(error)


# ------------------------------------------------- columns and types


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("countryy = 'FR'", "unknown column 'countryy' (columns: profile_id, email"),
        ("\"Country\" = 'FR'", "unknown column 'Country'"),
        (
            "profile_id IN (SELECT profile_id FROM purchases WHERE amont > 1)",
            "unknown column 'amont' (columns: purchase_id, profile_id",
        ),
        ("profile_id IN (SELECT profile_id FROM orders)", "unknown table 'orders'"),
        ("p.country = 'FR'", "no table or struct column named 'p'"),
    ],
)
def test_unknown_columns_and_tables_are_named(
    scans: dict[str, pl.LazyFrame], text: str, expected: str
) -> None:
    result = run_or_refuse(scans, text)

    assert isinstance(result, str) and expected in result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("country > 5", "cannot compare string with numeric type"),
        ("profile_id = 'x'", "cannot compare string with numeric type"),
        ("lower(profile_id) = 'a'", "expected `String`"),
        ("EXTRACT(year FROM country) = 2026", "`year` operation not supported"),
        ("country", "condition must be a boolean expression, got String"),
        ("profile_id + 1", "condition must be a boolean expression, got Int64"),
        ("created_at LIKE 1", "polars cannot run the condition"),
        ("email_consent + 'x' > 0", "polars cannot run the condition"),
        ("greatest() IS NULL", "polars failed internally on the condition"),
        ("cast(profile_id AS decimal(100, 2)) > 1", "polars failed internally"),
    ],
)
def test_type_errors_are_found_before_anything_runs(
    scans: dict[str, pl.LazyFrame], text: str, expected: str
) -> None:
    with pytest.raises(ajo.ConditionError) as info:
        filter_frame(scans, scans["profiles"], text, where=WHERE)

    assert str(info.value).startswith(f"{WHERE}: ")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_a_condition_that_fails_on_the_data_pauses_the_test_execution(
    fresh_workspace: ajo.Workspace,
) -> None:
    campaign = fresh_workspace.load_campaign(
        {
            "id": "casts",
            "activities": [
                {"id": "who", "type": "build_audience", "where": "profile_id > 0"},
                {
                    "id": "odd",
                    "type": "build_audience",
                    "where": "CAST(country AS int) = 1",
                },
                {"id": "end", "type": "end"},
            ],
            "transitions": [
                {"id": "t1", "from": "who", "to": "odd"},
                {"id": "t2", "from": "odd", "to": "end"},
            ],
        }
    )
    assert [a for a in campaign.alerts if a.level == "error"] == []

    run = campaign.start()
    run.wait()

    assert run.state == "paused"
    assert run.task_status("odd") == "error"
    errors = run.tasks.filter(pl.col("activity_id") == "odd")["error"].to_list()
    assert "conversion from `str` to `i32` failed" in errors[0]

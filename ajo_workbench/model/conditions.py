"""Sandboxed SQL conditions: check them before polars sees them, then filter.

A condition is a SQL boolean expression that the engine runs as
``SELECT * FROM __population WHERE (<condition>)`` in a ``pl.SQLContext`` holding
only workspace tables. polars SQL can also read files through table functions
(``read_csv('/etc/passwd')`` works in a SQLContext), so every condition passes
:func:`check_condition` first. It tokenizes the text itself and refuses:

- empty text, or text longer than 10,000 characters;
- unterminated strings or quoted identifiers, string prefixes (``E'..'``,
  ``X'..'``), ``;``, comments, backslashes outside strings, unknown characters;
- unbalanced parentheses, and any ``)`` that would close the WHERE's own ``(``;
- calls of functions missing from :data:`ALLOWED_FUNCTIONS`, qualified or quoted
  function names, and ``lpad``/``rpad`` lengths that are not a literal of at most
  1,000 (a condition must not build huge strings for every row);
- statement keywords (``INSERT``, ``DROP``, ``WITH``, ``INTO``, ``COPY``, ...);
- wall-clock keywords (``CURRENT_DATE``, ``CURRENT_TIMESTAMP``, ...): a
  condition must give the same rows whenever it runs, so dates are literals;
- ``FROM`` or ``JOIN`` followed by anything but a table name or ``(SELECT``;
- ``SELECT`` anywhere but right after ``(`` or after ``UNION``/``EXCEPT``/
  ``INTERSECT`` inside parentheses.

Strings follow polars' own rules: only ``''`` escapes a quote, a backslash is a
plain character. Positions in messages are 0-based offsets into the condition.
:func:`filter_frame` then compiles a checked condition against frames.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from ajo_workbench.errors import ConditionError

__all__ = ["ALLOWED_FUNCTIONS", "ConditionCheck", "check_condition", "filter_frame"]

MAX_LENGTH = 10_000
MAX_PADDING = 1_000
_PADDING = frozenset({"lpad", "rpad"})
POPULATION = "__population"
_QUERY = "SELECT * FROM " + POPULATION + " WHERE ({text})"

ALLOWED_FUNCTIONS: frozenset[str] = frozenset(
    {
        # strings
        "lower", "upper", "length", "char_length", "character_length",
        "octet_length", "substr", "substring", "trim", "ltrim", "rtrim",
        "concat", "concat_ws", "starts_with", "ends_with", "strpos", "position",
        "replace", "left", "right", "regexp_like", "regexp_replace", "reverse",
        "initcap", "split_part", "lpad", "rpad",
        # math
        "abs", "round", "floor", "ceil", "ceiling", "trunc", "sqrt", "cbrt",
        "power", "pow", "mod", "div", "greatest", "least", "sign", "ln", "log",
        "log2", "log10", "log1p", "exp", "pi", "degrees", "radians",
        # nulls and branching
        "coalesce", "nullif", "ifnull", "if",
        # dates and types
        "date_part", "extract", "date", "timestamp", "strftime", "strptime",
        "date_trunc", "cast", "try_cast",
        # aggregates, for subqueries
        "count", "sum", "min", "max", "avg", "median", "stddev", "variance",
        "first", "last",
    }
)  # fmt: skip

_FORBIDDEN = frozenset(
    {
        "insert", "update", "delete", "merge", "drop", "create", "alter",
        "attach", "detach", "copy", "pragma", "set", "show", "explain",
        "describe", "truncate", "with", "into", "grant", "revoke", "install",
    }
)  # fmt: skip

_CLOCK = frozenset(
    {"current_date", "current_time", "current_timestamp", "localtime", "localtimestamp"}
)

# Words followed by "(" that open a construct, not a function call.
_CONSTRUCTS = frozenset(
    {
        "and", "or", "not", "in", "exists", "any", "all", "some", "on", "using",
        "case", "when", "then", "else", "between", "like", "ilike", "select",
        "distinct", "where", "having", "by", "values", "over", "union",
        "except", "intersect", "limit", "offset",
    }
)  # fmt: skip

_KEYWORDS = _CONSTRUCTS | frozenset(
    {
        "is", "null", "true", "false", "end", "from", "group", "as", "join", "inner",
        "left", "right", "full", "outer", "cross", "natural", "order", "asc",
        "desc", "nulls", "first", "last", "cast", "try_cast", "extract",
        "timestamp", "date", "time", "interval", "year", "month", "day", "hour",
        "minute", "second", "week", "quarter", "dow", "doy", "isodow",
        "isoyear", "epoch", "millisecond", "milliseconds", "microsecond",
        "microseconds", "nanosecond", "nanoseconds", "decade", "century",
        "millennium", "julian", "both", "leading", "trailing", "for", "escape",
        "partition", "rows", "range", "unbounded", "preceding", "following",
        "current", "row", "precision", "zone", "unknown",
    }
)  # fmt: skip

_NOT_NAMES = _KEYWORDS | _FORBIDDEN | _CLOCK

# Words that close the list of tables after FROM/JOIN.
_FROM_ENDERS = frozenset(
    {
        "where", "group", "having", "order", "limit", "offset", "union",
        "except", "intersect", "qualify", "window", "fetch",
    }
)  # fmt: skip

_SET_OPERATORS = frozenset({"union", "except", "intersect"})
_FROM_SEPARATOR_CALLS = frozenset({"extract", "substring", "trim", "position"})
_CAST_CALLS = frozenset({"cast", "try_cast"})
_PARAM_TYPES = frozenset(
    {"decimal", "numeric", "dec", "varchar", "char", "character", "float"}
    | {"timestamp", "datetime", "time"}
)
_OPERATORS = (
    "!~*", "<>", "!=", "<=", ">=", "||", "::", "^@", "!~", "~*",
    "~", "=", "<", ">", "+", "-", "*", "/", "%", ".",
)  # fmt: skip
_WHITESPACE = frozenset(" \t\r\n")
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD_PART = _WORD_START | frozenset("0123456789")
_NUMBER = re.compile(
    r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
)
_MISSING_COLUMN = re.compile(r'unable to find column "(.*?)"; valid columns: \[(.*)\]')
_NOT_BOOLEAN = re.compile(r"filter predicate must be of type `Boolean`, got `(.*?)`")
_MISSING_TABLE = re.compile(r"relation '(.*?)' was not found")
_PARSER_AT = re.compile(r"at Line: (\d+), Column: (\d+)")
_SHOWN_COLUMNS = 20


@dataclass(frozen=True)
class ConditionCheck:
    """What a checked condition refers to.

    ``tables`` holds the names after ``FROM``/``JOIN`` as written (without
    quotes); ``identifiers`` the column-like names used, without keywords,
    function names, type names, table names, qualifiers and detected aliases.
    For ``p.amount`` only ``amount`` is kept.
    """

    tables: frozenset[str]
    identifiers: frozenset[str]


@dataclass(frozen=True)
class _Token:
    kind: str  # word, quoted, string, number, op, "(", ")", ","
    text: str  # the source text; the unquoted name for quoted identifiers
    pos: int

    @property
    def low(self) -> str:
        return self.text.lower() if self.kind == "word" else ""


@dataclass
class _Frame:
    kind: str  # top, group, call, subquery
    pos: int = -1
    name: str = ""
    in_from: bool = False
    in_type: bool = False


def check_condition(text: str, *, where: str = "condition") -> ConditionCheck:
    """Check that a SQL condition stays inside the sandbox.

    Parameters
    ----------
    text
        The SQL boolean expression, as an analyst wrote it.
    where
        Where the condition comes from, e.g. ``activities[0].where``; every
        message starts with it.

    Returns
    -------
    ConditionCheck
        The tables and identifiers the condition refers to, for callers to
        check against the workspace.

    Raises
    ------
    ConditionError
        When the text is empty or too long, does not tokenize, has unbalanced
        parentheses, calls a function missing from ``ALLOWED_FUNCTIONS``, uses a
        statement or wall-clock keyword, reads from anything but a table name or
        a subquery, or has ``SELECT`` outside a parenthesised subquery.
    """
    _check_size(text, where)

    tokens = _Tokenizer(text, where).run()

    return _Checker(tokens, where).run()


def filter_frame(
    ctx_tables: Mapping[str, pl.LazyFrame],
    population: pl.LazyFrame,
    text: str,
    *,
    where: str = "condition",
) -> pl.LazyFrame:
    """Filter a population with a checked condition.

    Parameters
    ----------
    ctx_tables
        The workspace tables a condition may read in subqueries, by name.
        Names match case-insensitively, as in polars SQL.
    population
        The rows to filter; registered as ``__population`` (a reserved name
        that wins over a table of the same name).
    text
        The SQL boolean expression.
    where
        Where the condition comes from; every message starts with it.

    Returns
    -------
    pl.LazyFrame
        ``SELECT * FROM __population WHERE (<text>)``, not yet collected.

    Raises
    ------
    ConditionError
        When :func:`check_condition` refuses the text, it names a table missing
        from ``ctx_tables``, polars cannot plan it (unknown column, wrong types,
        syntax), or it is not a boolean expression. Types are checked by a dry
        run on one all-null row per frame; errors that depend on the data (a
        string that fails a cast, say) still surface only on ``collect``.
    """
    check = check_condition(text, where=where)
    _check_tables(check, ctx_tables, where)

    query = _QUERY.format(text=text)
    result = _plan(_context(ctx_tables, population), query, where)

    dry = _null_rows(ctx_tables, check.tables)
    _plan(_context(dry, population.clear(1)), query, where, dry_run=True)
    return result


# ---------------------------------------------------------------- refusals


def _refuse(where: str, message: str) -> ConditionError:
    return ConditionError(f"{where}: {message}")


def _check_size(text: str, where: str) -> None:
    if not text.strip():
        raise _refuse(
            where,
            "condition is empty; write a boolean sql expression such as country = 'FR'",
        )

    if len(text) > MAX_LENGTH:
        raise _refuse(
            where,
            f"condition is {len(text)} characters long, too long at position "
            f"{MAX_LENGTH}; at most {MAX_LENGTH} characters are allowed",
        )


def _functions_list() -> str:
    return ", ".join(sorted(ALLOWED_FUNCTIONS))


# --------------------------------------------------------------- tokenizer


class _Tokenizer:
    """Split a condition into tokens, refusing what the sandbox does not allow."""

    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.tokens: list[_Token] = []

    def run(self) -> list[_Token]:
        pos = 0
        while pos < len(self.text):
            pos = self._step(pos)
        return self.tokens

    def _step(self, pos: int) -> int:
        char = self.text[pos]
        if char in _WHITESPACE:
            return pos + 1

        if char == "'":
            return self._string(pos)

        if char == '"':
            return self._quoted(pos)

        if char in _WORD_START:
            return self._word(pos)

        number = _NUMBER.match(self.text, pos)
        if number:
            return self._add("number", number.group(), pos)

        return self._symbol(pos)

    def _add(self, kind: str, text: str, pos: int, end: int | None = None) -> int:
        self.tokens.append(_Token(kind, text, pos))
        return pos + len(text) if end is None else end

    def _closing_quote(self, pos: int, quote: str, what: str) -> int:
        end = pos + 1
        while True:
            end = self.text.find(quote, end)
            if end < 0:
                raise _refuse(
                    self.where,
                    f"unterminated {what} starting at position {pos}; close it "
                    f"with {quote} (write {quote}{quote} for a {quote} inside)",
                )

            if self.text.startswith(quote * 2, end):
                end += 2
                continue
            return end

    def _string(self, pos: int) -> int:
        previous = self.tokens[-1] if self.tokens else None
        if (
            previous
            and previous.kind in ("word", "number")
            and self._touches(previous, pos)
        ):
            raise _refuse(
                self.where,
                f"string prefix {previous.text!r} at position {previous.pos} is not "
                "allowed; write a plain 'string' (e'', x'', r'' are refused)",
            )

        end = self._closing_quote(pos, "'", "string")
        return self._add("string", self.text[pos : end + 1], pos)

    def _touches(self, previous: _Token, pos: int) -> bool:
        return previous.pos + len(previous.text) == pos

    def _quoted(self, pos: int) -> int:
        end = self._closing_quote(pos, '"', "quoted identifier")
        name = self.text[pos + 1 : end].replace('""', '"')
        return self._add("quoted", name, pos, end + 1)

    def _word(self, pos: int) -> int:
        end = pos
        while end < len(self.text) and self.text[end] in _WORD_PART:
            end += 1
        return self._add("word", self.text[pos:end], pos)

    def _symbol(self, pos: int) -> int:
        self._refuse_symbol(pos)

        char = self.text[pos]
        if char in "(),":
            return self._add(char, char, pos)

        for operator in _OPERATORS:
            if self.text.startswith(operator, pos):
                return self._add("op", operator, pos)

        raise _refuse(
            self.where,
            f"unexpected character {char!r} at position {pos}; allowed are names, "
            "numbers, 'strings', \"quoted names\", ( ) , and sql operators "
            f"{' '.join(_OPERATORS)}",
        )

    def _refuse_symbol(self, pos: int) -> None:
        refused = {
            ";": "';' (one condition, no statements)",
            "--": "comment '--' (comments are not allowed)",
            "/*": "comment '/*' (comments are not allowed)",
            "\\": "backslash (only allowed inside 'strings')",
        }
        for symbol, label in refused.items():
            if self.text.startswith(symbol, pos):
                raise _refuse(
                    self.where,
                    f"{label} at position {pos} is refused; a condition is one "
                    "boolean expression",
                )


# ----------------------------------------------------------------- checker


@dataclass
class _Checker:
    """Walk the tokens once, keeping one frame per open parenthesis."""

    tokens: list[_Token]
    where: str
    frames: list[_Frame] = field(default_factory=lambda: [_Frame("top")])
    tables: set[str] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)
    aliases: set[str] = field(default_factory=set)

    def run(self) -> ConditionCheck:
        index = 0
        while index < len(self.tokens):
            index = self._step(index)

        if len(self.frames) > 1:
            opened = self.frames[-1]
            raise _refuse(
                self.where,
                f"unbalanced parentheses: '(' at position {opened.pos} is never "
                f"closed ({len(self.frames) - 1} open); close every '(' with ')'",
            )

        identifiers = frozenset(self.identifiers - self.aliases)
        return ConditionCheck(frozenset(self.tables), identifiers)

    # ------------------------------------------------------------ helpers

    def _at(self, index: int) -> _Token | None:
        return self.tokens[index] if 0 <= index < len(self.tokens) else None

    def _kind(self, index: int) -> str:
        token = self._at(index)
        return token.kind if token else ""

    def _low(self, index: int) -> str:
        token = self._at(index)
        return token.low if token else ""

    def _fail(self, token: _Token | None, problem: str, allowed: str) -> ConditionError:
        if token is None:
            return _refuse(self.where, f"{problem} at the end; {allowed}")
        return _refuse(
            self.where, f"{problem} {token.text!r} at position {token.pos}; {allowed}"
        )

    @property
    def _top(self) -> _Frame:
        return self.frames[-1]

    def _is_name(self, index: int) -> bool:
        token = self._at(index)
        if token is None:
            return False
        if token.kind == "quoted":
            return True
        return token.kind == "word" and token.low not in _NOT_NAMES

    def _is_op(self, index: int, *texts: str) -> bool:
        token = self._at(index)
        return token is not None and token.kind == "op" and token.text in texts

    # ------------------------------------------------------------- tokens

    def _step(self, index: int) -> int:
        kind = self.tokens[index].kind
        if kind == "(":
            return self._open(index)

        if kind == ")":
            return self._close(index)

        if kind == "," and self._top.in_from:
            return self._table(index + 1)

        if self._is_op(index, "::"):
            return self._cast_type(index + 1)

        if kind in ("word", "quoted"):
            return self._name(index)
        return index + 1

    def _open(self, index: int) -> int:
        position = self.tokens[index].pos
        previous = self._at(index - 1)
        if previous and previous.kind == "word" and previous.low in ALLOWED_FUNCTIONS:
            self.frames.append(_Frame("call", position, previous.low))
        elif self._low(index + 1) == "select":
            self.frames.append(_Frame("subquery", position))
        else:
            self.frames.append(_Frame("group", position))
        return index + 1

    def _close(self, index: int) -> int:
        if len(self.frames) == 1:
            raise self._fail(
                self.tokens[index],
                "unbalanced parenthesis: unmatched",
                "a condition must not close a '(' it did not open",
            )

        closed = self.frames.pop()
        if closed.kind == "subquery" and self._top.in_from:
            return self._alias(index + 1)
        return index + 1

    def _cast_type(self, index: int) -> int:
        token = self._at(index)
        if token is None or token.kind != "word":
            raise self._fail(
                token, "expected a type name after '::', got", "e.g. x::int"
            )

        if self._kind(index + 1) == "(" and token.low not in _PARAM_TYPES:
            raise self._fail(token, "refused type", self._param_types())
        return index + 1

    def _param_types(self) -> str:
        return "types with (...) parameters are " + ", ".join(sorted(_PARAM_TYPES))

    # -------------------------------------------------------------- names

    def _name(self, index: int) -> int:
        token = self.tokens[index]
        self._refuse_keyword(token)

        if token.kind == "word" and self._top.in_type:
            return self._type_word(index)

        if token.low == "select":
            return self._select(index)

        if token.low in ("from", "join"):
            return self._from(index)

        if self._kind(index + 1) == "(":
            return self._call(index)

        if token.low == "as":
            return self._as(index)

        if token.low in _FROM_ENDERS:
            self._top.in_from = False
        self._identifier(index)
        return index + 1

    def _refuse_keyword(self, token: _Token) -> None:
        if token.low in _FORBIDDEN:
            raise self._fail(
                token,
                "refused statement keyword",
                "a condition is one boolean expression (quote a column with this "
                'name as "name")',
            )

        if token.low in _CLOCK:
            raise self._fail(
                token,
                "refused wall-clock keyword",
                "conditions must not depend on when they run; write a literal "
                "such as TIMESTAMP '2026-06-01 00:00:00'",
            )

    def _identifier(self, index: int) -> None:
        is_qualifier = self._is_op(index + 1, ".")
        if self._is_name(index) and not is_qualifier:
            self.identifiers.add(self.tokens[index].text)

    def _type_word(self, index: int) -> int:
        if self._kind(index + 1) == "(" and self._low(index) not in _PARAM_TYPES:
            raise self._fail(self.tokens[index], "refused type", self._param_types())
        return index + 1

    def _call(self, index: int) -> int:
        token = self.tokens[index]
        if self._is_op(index - 1, ".", "::"):
            raise self._fail(
                token, "refused qualified function name", "call a plain allowed name"
            )

        if token.kind == "quoted":
            raise self._fail(
                token, "refused quoted function name", "call a plain allowed name"
            )

        if token.low not in ALLOWED_FUNCTIONS | _CONSTRUCTS:
            raise self._fail(
                token,
                "refused function",
                f"it is not an allowed function; allowed are {_functions_list()}",
            )
        if token.low in _PADDING:
            self._padding_length(index)
        return index + 1

    def _padding_length(self, index: int) -> None:
        """``lpad``/``rpad`` build a string as long as their second argument for
        every row: it must be a literal of at most ``MAX_PADDING``."""
        arguments = self._arguments(index + 1)
        name = self.tokens[index].low
        allowed = (
            f"{name}'s length must be a whole number from 0 to {MAX_PADDING}, "
            f"written as a literal, e.g. {name}(code, 5, '0')"
        )
        if len(arguments) < 2:
            return  # polars names the missing argument
        length = arguments[1]
        if len(length) != 1 or length[0].kind != "number":
            first = length[0] if length else None
            raise self._fail(first, f"refused {name} length", allowed)
        if not length[0].text.isdigit() or int(length[0].text) > MAX_PADDING:
            raise self._fail(length[0], f"refused {name} length", allowed)

    def _arguments(self, opening: int) -> list[list[_Token]]:
        """The tokens of each argument of the call whose ``(`` is at ``opening``."""
        arguments: list[list[_Token]] = [[]]
        depth = 0
        for token in self.tokens[opening + 1 :]:
            if token.kind == "(":
                depth += 1
            elif token.kind == ")":
                if depth == 0:
                    break
                depth -= 1
            elif token.kind == "," and depth == 0:
                arguments.append([])
                continue
            arguments[-1].append(token)
        return arguments

    def _as(self, index: int) -> int:
        if self._top.kind == "call" and self._top.name in _CAST_CALLS:
            self._top.in_type = True
            return index + 1

        if self._is_name(index + 1):
            self.aliases.add(self.tokens[index + 1].text)
            return index + 2
        return index + 1

    # ------------------------------------------------------------ queries

    def _select(self, index: int) -> int:
        previous = self._low(index - 1)
        after_all = previous in ("all", "distinct") and (
            self._low(index - 2) in _SET_OPERATORS
        )
        nested = len(self.frames) > 1
        if self._kind(index - 1) != "(" and not (
            nested and (previous in _SET_OPERATORS or after_all)
        ):
            raise self._fail(
                self.tokens[index],
                "misplaced keyword",
                "select is only allowed as a subquery, right after '(' as in "
                "x IN (SELECT ...)",
            )

        self._top.in_from = False
        return index + 1

    def _from(self, index: int) -> int:
        if self._is_separator(index):
            return index + 1

        self._top.in_from = True
        return self._table(index + 1)

    def _is_separator(self, index: int) -> bool:
        if self.tokens[index].low != "from":
            return False

        if self._top.kind == "call" and self._top.name in _FROM_SEPARATOR_CALLS:
            return True

        is_distinct = self._low(index - 1) == "distinct"
        return is_distinct and self._low(index - 2) in ("is", "not")

    def _table(self, index: int) -> int:
        token = self._at(index)
        if self._kind(index) == "(" and self._low(index + 1) == "select":
            return index

        called = self._kind(index + 1) == "("
        dotted = self._is_op(index + 1, ".", "::")
        if token is None or not self._is_name(index) or called or dotted:
            raise self._fail(
                token,
                "from/join must name a table, refused",
                "write a workspace table name or (SELECT ...); files, strings "
                "and table functions are refused",
            )

        self.tables.add(token.text)
        return self._alias(index + 1)

    def _alias(self, index: int) -> int:
        if self._low(index) == "as":
            index += 1

        if self._is_name(index) and self._kind(index + 1) != "(":
            self.aliases.add(self.tokens[index].text)
            return index + 1
        return index


# ----------------------------------------------------------------- polars


def _check_tables(
    check: ConditionCheck, ctx_tables: Mapping[str, pl.LazyFrame], where: str
) -> None:
    known = {name.lower() for name in ctx_tables}
    for table in sorted(check.tables):
        if table.lower() not in known:
            tables = ", ".join(sorted(ctx_tables)) or "none"
            raise _refuse(where, f"unknown table {table!r} (tables: {tables})")


def _null_rows(
    ctx_tables: Mapping[str, pl.LazyFrame], tables: frozenset[str]
) -> dict[str, pl.LazyFrame]:
    used = {table.lower() for table in tables}
    return {
        name: frame.clear(1)
        for name, frame in ctx_tables.items()
        if name.lower() in used
    }


def _context(
    ctx_tables: Mapping[str, pl.LazyFrame], population: pl.LazyFrame
) -> pl.SQLContext[pl.LazyFrame]:
    frames = {name: frame for name, frame in ctx_tables.items()}
    frames[POPULATION] = population
    return pl.SQLContext(frames)


def _plan(
    ctx: pl.SQLContext[pl.LazyFrame], query: str, where: str, *, dry_run: bool = False
) -> pl.LazyFrame:
    try:
        result = ctx.execute(query)
        result.collect_schema()
        if dry_run:
            result.collect()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as error:
        raise _refuse(where, _explain(error, query)) from error
    return result


def _explain(error: BaseException, query: str) -> str:
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]

    missing = _MISSING_COLUMN.search(first)
    if missing:
        return f"unknown column {missing.group(1)!r} ({_columns(missing.group(2))})"

    not_boolean = _NOT_BOOLEAN.search(first)
    if not_boolean:
        got = not_boolean.group(1)
        return f"condition must be a boolean expression, got {got}"

    table = _MISSING_TABLE.search(first)
    if table:
        return f"unknown table {table.group(1)!r}"
    if isinstance(error, pl.exceptions.PanicException):
        return f"polars failed internally on the condition: {first}"
    return f"polars cannot run the condition: {_relocate(first, query)}"


def _relocate(message: str, query: str) -> str:
    """Turn the parser's line and column in the whole query into a position."""
    found = _PARSER_AT.search(message)
    if not found:
        return message

    line, column = int(found.group(1)), int(found.group(2))
    lines = query.split("\n")
    offset = sum(len(part) + 1 for part in lines[: line - 1]) + column - 1
    prefix = _QUERY.index("{text}")
    position = offset - prefix
    if not 0 <= position <= len(query) - len(_QUERY) + len("{text}"):
        return message
    return message[: found.start()] + f"at position {position}"


def _columns(listed: str) -> str:
    names = [name.strip().strip('"') for name in listed.split(",") if name.strip()]
    shown = ", ".join(names[:_SHOWN_COLUMNS])
    hidden = len(names) - _SHOWN_COLUMNS
    more = f", ... {hidden} more" if hidden > 0 else ""
    return f"columns: {shown}{more}"

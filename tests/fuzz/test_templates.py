"""Channel content in the sandbox (SPEC §4.3, §9, §12): no escape, no runaway.

Known Jinja sandbox-escape payloads and denial-of-service tricks must end in the
project's :class:`~ajo_workbench.errors.TemplateError` (when the content is compiled
or when it is rendered), quickly. Profile values are data, never template code, and
are escaped in HTML bodies.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import markupsafe
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ajo_workbench as ajo
from ajo_workbench.delivery.templates import (
    MAX_ITERATIONS,
    MAX_OUTPUT,
    MAX_TEXT,
    render_field,
    render_message,
)
from ajo_workbench.errors import TemplateError

ROW: dict[str, Any] = {
    "profile_id": 7,
    "first_name": "Ann",
    "email": "ann@example.org",
    "total_spent": 12.5,
    "city": None,
}
FAST = 2.0
"""Seconds any refusal may take: the sandbox refuses before it does the work."""

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SANDBOX = "leaves the sandbox"
NO_GLOBAL = "has no value for"
CONSTRUCT = "which message content can't use"
FILTER = "which content can't use (filters:"
LIMIT = "goes beyond the sandbox's limits"
NESTED = "nested too deeply"
MISSING = "reads a missing value"

ESCAPES = [
    ("{{ ''.__class__.__mro__ }}", SANDBOX),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", SANDBOX),
    ("{{ first_name.__class__.__base__.__subclasses__() }}", SANDBOX),
    ("{{ (1).__class__ }}", SANDBOX),
    ("{{ first_name['__class__'] }}", SANDBOX),
    ("{{ first_name|attr('__class__') }}", SANDBOX),
    ("{{ first_name|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", SANDBOX),
    ("{{ first_name|attr('__class__')|attr('__mro__') }}", MISSING),
    ("{{ first_name.upper() }}", SANDBOX),
    ("{{ first_name.format }}", SANDBOX),
    ("{{ '{0.__class__}'.format(first_name) }}", SANDBOX),
    ("{{ '{0}'.format_map({'a': first_name}) }}", SANDBOX),
    ("{{ '{:>99999999999}'.format(first_name) }}", SANDBOX),
    ("{{ profile_id.real }}", SANDBOX),
    ("{{ cycler.__init__.__globals__ }}", NO_GLOBAL),
    ("{{ joiner.__init__.__globals__.os }}", NO_GLOBAL),
    ("{{ namespace.__init__.__globals__ }}", NO_GLOBAL),
    ("{{ lipsum.__globals__ }}", NO_GLOBAL),
    ("{{ lipsum.__globals__['os'].popen('id').read() }}", NO_GLOBAL),
    ("{{ config }}", NO_GLOBAL),
    ("{{ config.items() }}", NO_GLOBAL),
    ("{{ request }}", NO_GLOBAL),
    ("{{ request.application.__globals__.__builtins__ }}", NO_GLOBAL),
    ("{{ range(3) }}", NO_GLOBAL),
    ("{{ dict(a=1) }}", NO_GLOBAL),
    ("{{ self }}", "reads 'self'"),
    ("{{ self._TemplateReference__context }}", "reads 'self'"),
    ("{{ self.__init__.__globals__ }}", "reads 'self'"),
    ("{% include '/etc/passwd' %}", CONSTRUCT),
    ("{% extends '/etc/passwd' %}", CONSTRUCT),
    ("{% import 'os' as os %}{{ os }}", CONSTRUCT),
    ("{% from 'os' import popen %}", CONSTRUCT),
    ("{{ first_name|safe }}", FILTER),
    ("{{ first_name|map('upper')|list }}", FILTER),
    ("{{ [first_name]|selectattr('__class__')|list }}", FILTER),
    ("{{ first_name|xmlattr }}", FILTER),
]
RUNAWAYS = [
    ("{{ range(10**10)|list }}", NO_GLOBAL),
    ("{% for i in range(10**10) %}x{% endfor %}", NO_GLOBAL),
    ("{{ 'a' * 10**10 }}", LIMIT),
    ("{{ first_name * 100000000 }}", LIMIT),
    ("{{ [1] * 10**9 }}", LIMIT),
    ("{{ 2 ** 100000 }}", LIMIT),
    ("{{ 7 ** (10 ** 8) }}", LIMIT),
    ("{{ 10 ** 10 ** 10 ** 10 ** 10 }}", LIMIT),
    ("{{ (10 ** 1000) * (10 ** 1000) }}", LIMIT),
    ("{{ '%.999999999f' % 1.0 }}", LIMIT),
    ("{{ '%0999999999d'|format(1) }}", LIMIT),
    ("{{ '%*s'|format(10**9, 'x') }}", LIMIT),
    ("{{ first_name|replace('', 'x' * 99999) }}", LIMIT),
    ("{{ (first_name * 1000)|join('x' * 99999) }}", LIMIT),
    ("{{ first_name|center(10**10) }}", FILTER),
    ("{{ first_name|indent(10**10) }}", FILTER),
    ("{{ first_name|wordwrap(1, wrapstring='x' * 99999) }}", FILTER),
    ("{{ first_name|slice(10**9)|list }}", FILTER),
    ("{{ first_name|batch(10**9, 'x')|list }}", FILTER),
    ("{% filter center(10**10) %}x{% endfilter %}", FILTER),
    (
        "{% for a in first_name * 1000 %}{% for b in first_name * 1000 %}x"
        "{% endfor %}{% endfor %}",
        LIMIT,
    ),
    (
        "{% set s = 'x' * 99999 %}{% for a in s %}{% for b in s %}{% endfor %}"
        "{% endfor %}",
        LIMIT,
    ),
    ("{% for a in 'x' * 9999 %}{{ 'y' * 99999 }}{% endfor %}", LIMIT),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", CONSTRUCT),
    (
        "{% macro m(x, k) %}{% if k %}{{ m(x ~ x, k - 1) }}{% else %}{{ x }}"
        "{% endif %}{% endmacro %}{{ m(first_name, 60) }}",
        CONSTRUCT,
    ),
    ("{% call m() %}x{% endcall %}", CONSTRUCT),
    ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "recursive loop"),
    ("{{ " + "(" * 200 + "1" + ")" * 200 + " }}", NESTED),
    ("{% if 1 %}" * 150 + "x" + "{% endif %}" * 150, NESTED),
    ("{{ [" * 150 + "]" * 150 + " }}", NESTED),
]


def refusal(source: str, *, html: bool = True) -> str:
    """The message of the TemplateError that rendering ``source`` raises, quickly."""
    if html:
        channel, settings_, row = "email", {"subject": "Hi", "body": source}, ROW
    else:
        channel, settings_ = "sms", {"body": source}
        row = {**ROW, "phone": "+33600000000"}
    started = time.perf_counter()

    with pytest.raises(TemplateError) as info:
        render_message(channel, settings_, row, activity_id="c")

    assert time.perf_counter() - started < FAST, f"{source[:60]!r} took too long"
    message = str(info.value)
    assert message.startswith(f"{channel} 'c' body ")
    assert "\n" not in message
    return message


@pytest.mark.parametrize("html", [True, False], ids=["email-body", "sms-body"])
@pytest.mark.parametrize(("source", "expected"), ESCAPES + RUNAWAYS)
def test_escapes_and_runaways_are_refused(
    source: str, expected: str, html: bool
) -> None:
    assert expected in refusal(source, html=html)


def test_limits_leave_room_for_real_content() -> None:
    row = {**ROW, "first_name": "Zoë"}
    text = render_field(
        "{% for c in first_name * 3 %}{{ c|upper }}{% endfor %} "
        "{{ '%08.2f'|format(total_spent) }} {{ 2 ** 64 }} {{ 'ab' * 10 }} "
        "{{ [first_name, email]|join(', ') }} {{ first_name|replace('o', '0') }}",
        row,
        html=False,
    )

    assert text == (
        "ZOËZOËZOË 00012.50 18446744073709551616 abababababababababab "
        "Zoë, ann@example.org Z0ë"
    )
    assert MAX_ITERATIONS >= 1_000 and MAX_TEXT >= 10_000 and MAX_OUTPUT >= MAX_TEXT


def test_a_loop_may_run_up_to_the_limit() -> None:
    fits = "{% for c in 'x' * " + str(MAX_ITERATIONS) + " %}{% endfor %}done"
    over = "{% for c in 'x' * " + str(MAX_ITERATIONS + 1) + " %}{% endfor %}done"

    assert render_field(fits, ROW, html=False) == "done"
    with pytest.raises(TemplateError, match=f"more than {MAX_ITERATIONS} iterations"):
        render_field(over, ROW, html=False)


# ----------------------------------------------------- generated payloads

attribute_names = st.sampled_from(
    [
        "__class__", "__mro__", "__subclasses__", "__globals__", "__init__",
        "__builtins__", "__dict__", "__getitem__", "__base__", "__bases__",
        "__import__", "__code__", "_TemplateReference__context", "mro",
        "format", "format_map", "real", "upper", "__doc__", "gi_frame",
        "f_globals", "func_globals", "__reduce_ex__", "__self__",
    ]
)  # fmt: skip


@st.composite
def attribute_chains(draw: st.DrawFn) -> str:
    """``base`` followed by 1-4 attribute reads, in any of Jinja's spellings."""
    base = draw(st.sampled_from(["first_name", "''", "1", "[]", "()", "total_spent"]))
    text = base
    for _ in range(draw(st.integers(1, 4))):
        name = draw(attribute_names)
        style = draw(st.sampled_from(["dot", "item", "attr", "call"]))
        if style == "dot":
            text = f"{text}.{name}"
        elif style == "item":
            text = f"({text})[{name!r}]"
        elif style == "attr":
            text = f"(({text})|attr({name!r}))"
        else:
            text = f"{text}.{name}()"
    return "{{ " + text + " }}"


@given(source=attribute_chains(), html=st.booleans())
@FUZZ
def test_no_attribute_chain_reaches_python(source: str, html: bool) -> None:
    message = refusal(source, html=html)

    assert SANDBOX in message or MISSING in message


TOKENS = [
    "{{", "}}", "{%", "%}", " for x in ", " endfor ", " if ", " endif ", " else ",
    " set y = ", "first_name", "total_spent", "city", "x", "y", "*", "**", "%",
    "~", "+", "-", "/", "//", "9", "99999", "'a'", "'%s'", "'%999999d'", "|",
    "join", "replace", "format", "round", "int", "length", "upper", "(", ")",
    "[", "]", ",", ".", "__class__", " is ", "defined", " not ", "'", '"', "{#",
    "#}", "\n", "<b>",
]  # fmt: skip


@given(parts=st.lists(st.sampled_from(TOKENS), max_size=30), html=st.booleans())
@settings(FUZZ, max_examples=150)
def test_generated_templates_render_or_raise_template_error(
    parts: list[str], html: bool
) -> None:
    source = "".join(parts)
    started = time.perf_counter()
    try:
        text = render_field(source, ROW, html=html, where="body")
    except TemplateError as error:
        text = str(error)
        assert text.startswith("body ")

    assert len(text) <= MAX_OUTPUT
    assert time.perf_counter() - started < FAST


# ------------------------------------------------------ values are data

NASTY_VALUES = [
    "{{ 7*7 }}",
    "{% for x in range(10) %}x{% endfor %}",
    "{{ ''.__class__.__mro__ }}",
    "{# comment #}",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "Tom & Jerry's <b>bold</b>",
    "javascript:alert(1)",
]
values = st.sampled_from(NASTY_VALUES) | st.text(max_size=40)
USES = [
    "{{ first_name }}",
    "{{ first_name ~ '!' }}",
    "{{ first_name|upper }}",
    "{{ first_name|trim }}",
    "{{ first_name|default('x') }}",
    "{{ first_name|truncate(300) }}",
    "{{ '%s'|format(first_name) }}",
    "{{ '%s' % first_name }}",
    "{{ [first_name, first_name]|join(' / ') }}",
    "{{ first_name|replace('a', 'b') }}",
    "{% if first_name %}{{ first_name }}{% endif %}",
    "{% set copy = first_name %}{{ copy }}",
]


@given(value=values, use=st.sampled_from(USES))
@FUZZ
def test_profile_values_are_escaped_in_html_bodies(value: str, use: str) -> None:
    row = {**ROW, "first_name": value}
    plain = render_field(use, row, html=False)
    settings_ = {"subject": f"Hi {use}", "body": f"<p>{use}</p>"}

    message = render_message("email", settings_, row, activity_id="mail")

    assert message.body == f"<p>{markupsafe.escape(plain)}</p>"
    assert message.subject == f"Hi {plain}"
    assert "<script" not in message.body and "<img" not in message.body


@pytest.mark.parametrize("value", NASTY_VALUES)
def test_a_value_is_never_evaluated_as_a_template(value: str) -> None:
    row = {**ROW, "first_name": value}

    assert render_field("{{ first_name }}", row, html=False) == value
    assert render_field("{{ first_name }}", row, html=True) == markupsafe.escape(value)


# ------------------------------------------------- through the workspace


@pytest.fixture(scope="module")
def nasty_profiles(
    fuzz_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> ajo.Workspace:
    """The sample workspace whose profiles 1-3 have hostile first names."""
    folder = tmp_path_factory.mktemp("nasty") / "ws"
    shutil.copytree(fuzz_folder, folder)
    ws = ajo.Workspace(folder, user="fuzzer")
    key = pl.col("profile_id")
    profiles = ws.table("profiles").with_columns(
        pl.when(key == 1)
        .then(pl.lit("{{ 7*7 }}"))
        .when(key == 2)
        .then(pl.lit("<script>alert(1)</script>"))
        .when(key == 3)
        .then(pl.lit("{{ config }}"))
        .otherwise(pl.col("first_name"))
        .alias("first_name")
    )
    ws.import_table("profiles", profiles, key="profile_id")
    return ws


def mail_campaign(body: str, subject: str = "Hi {{ first_name }}") -> dict[str, Any]:
    return {
        "id": "nasty",
        "activities": [
            {"id": "who", "type": "build_audience", "where": "profile_id <= 3"},
            {"id": "mail", "type": "email", "subject": subject, "body": body},
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "who", "to": "mail"},
            {"id": "t2", "from": "mail", "to": "end"},
        ],
    }


def test_simulated_content_shows_hostile_values_as_text(
    nasty_profiles: ajo.Workspace,
) -> None:
    campaign = nasty_profiles.load_campaign(
        mail_campaign("<p>Hello {{ first_name }}</p>")
    )
    run = campaign.start()
    run.wait()

    shown = campaign.simulate_content("mail", [1, 2, 3])

    assert shown["subject"].to_list() == [
        "Hi {{ 7*7 }}",
        "Hi <script>alert(1)</script>",
        "Hi {{ config }}",
    ]
    assert shown["body"].to_list() == [
        "<p>Hello {{ 7*7 }}</p>",
        "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>",
        "<p>Hello {{ config }}</p>",
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [pair for pair in ESCAPES + RUNAWAYS if pair[1] != MISSING],
)
def test_validation_or_simulation_refuses_every_payload(
    nasty_profiles: ajo.Workspace,
    state_of: Callable[[ajo.Workspace], object],
    source: str,
    expected: str,
) -> None:
    definition = ajo.parse_definition(mail_campaign(source))
    started = time.perf_counter()

    alerts = [a for a in nasty_profiles.validate(definition) if a.level == "error"]

    assert time.perf_counter() - started < FAST
    compiled = expected in (NO_GLOBAL, CONSTRUCT, FILTER, NESTED, "reads 'self'")
    compiled = compiled or "recursive" in expected
    if compiled:
        assert [(a.code, a.activity_id) for a in alerts] in (
            [("BAD_TEMPLATE", "mail")],
            [("UNKNOWN_PLACEHOLDER", "mail")],
        )
        return

    assert alerts == []
    campaign = nasty_profiles.load_campaign(definition.to_dict())
    campaign.start().wait()
    before = state_of(nasty_profiles)
    with pytest.raises(TemplateError, match=expected):
        campaign.simulate_content("mail", [1])
    assert without_logs(state_of(nasty_profiles)) == without_logs(before)


def without_logs(state: Any) -> dict[str, object]:
    # A test execution's last log line can land just after wait() returns, so the
    # log (and its id sequence) is left out of the comparison.
    return {
        k: v for k, v in state.items() if k not in ("db:logs", "db:sqlite_sequence")
    }

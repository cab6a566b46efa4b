"""Fuzzed campaign files (SPEC §3, §5, §12): clear errors, and nothing changes.

Every generated document goes through one oracle, :func:`outcome`. A document that
breaks the file format must raise :class:`~ajo_workbench.DefinitionError` from
``parse_definition`` and from ``Workspace.load_campaign`` alike, with each problem's
path in the message, and leave the workspace's database and files as they were. A
document that parses must validate into alerts (never an exception), still without
changing anything, and load into a Draft that reads back the same definition.

Structural problems (dangling transitions, cycles) are not format problems: they
parse, and validation reports them as error alerts that block Start.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ajo_workbench as ajo

EXAMPLES = Path(__file__).parents[2] / "examples"
DOCUMENTS: dict[str, dict[str, Any]] = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(EXAMPLES.glob("*.json"))
}
TEXTS = {
    path.stem: path.read_text(encoding="utf-8")
    for path in sorted(EXAMPLES.glob("*.json"))
}
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
OPEN_MAPS = ("variables", "match", "columns")
"""Objects whose keys are names chosen by the analyst, not file-format keys."""

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Key = str | int
Where = tuple[Key, ...]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
bad_slugs = st.sampled_from(
    ["", "Gold", "a b", "-a", "_a", "a\n", "é", "a.b", "a/b", "../x", "a;drop", "A1"]
) | st.text(max_size=12).filter(lambda text: not SLUG.fullmatch(text))


# ---------------------------------------------------------------- documents


def dotted(where: Where) -> str:
    """A path as the file format's messages write it: ``activities[2].where``."""
    text = ""
    for key in where:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else key
    return text


def walk(value: Any, where: Where = ()) -> Iterator[tuple[Where, Any]]:
    """Every value below the root with its path, parents before children."""
    items: list[tuple[Key, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        yield (*where, key), item
        yield from walk(item, (*where, key))


def parent_of(document: Any, where: Where) -> Any:
    for key in where[:-1]:
        document = document[key]
    return document


def related(problem: str, mutated: str) -> bool:
    """Whether a problem's path is the mutated path, one of its parents or children."""

    def below(child: str, parent: str) -> bool:
        return child.startswith((parent + ".", parent + "["))

    return problem == mutated or below(mutated, problem) or below(problem, mutated)


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def copy(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(DOCUMENTS[name]))
    return document


# ------------------------------------------------------------------- oracle


@pytest.fixture(scope="module")
def scratch(fuzz_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A second workspace that takes the documents that parse."""
    folder = tmp_path_factory.mktemp("scratch") / "ws"
    shutil.copytree(fuzz_folder, folder)
    return ajo.Workspace(folder, user="fuzzer")


Outcome = Callable[[Any], "ajo.DefinitionError | list[ajo.Alert]"]


@pytest.fixture(scope="module")
def outcome(
    module_workspace: ajo.Workspace,
    scratch: ajo.Workspace,
    state_of: Callable[[ajo.Workspace], object],
) -> Outcome:
    """Loads a document (or file path) and checks the promises every input shares."""
    ws = module_workspace

    def run(source: Any) -> ajo.DefinitionError | list[ajo.Alert]:
        before = state_of(ws)
        if isinstance(source, Path):
            parse: Callable[[], ajo.CampaignDefinition] = partial(
                ajo.load_definition, source
            )
        else:
            parse = partial(ajo.parse_definition, source)
        try:
            definition = parse()
        except ajo.DefinitionError:
            with pytest.raises(ajo.DefinitionError) as parsed:
                parse()
            error = parsed.value
            assert error.problems
            for problem in error.problems:
                assert f"  - {problem.path}: {problem.message}" in str(error)
            with pytest.raises(ajo.DefinitionError) as loaded:
                load(ws, source)
            assert state_of(ws) == before
            assert listed(loaded.value) == listed(error)
            return error

        alerts = ws.validate(definition)
        assert state_of(ws) == before
        assert all(isinstance(alert, ajo.Alert) for alert in alerts)
        assert all(alert.level in ("error", "warning") for alert in alerts)

        campaign = scratch.load_campaign(definition.to_dict())
        assert campaign.definition == definition
        text = definition.to_json()
        assert ajo.parse_definition(text).to_json() == text
        return alerts

    return run


def load(ws: ajo.Workspace, source: Any) -> ajo.Campaign:
    """``load_campaign`` takes documents and files; text goes through a file."""
    if not isinstance(source, str):
        return ws.load_campaign(source)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "campaign.json"
        path.write_text(source, encoding="utf-8")
        return ws.load_campaign(path)


def listed(error: ajo.DefinitionError) -> list[tuple[str, str]]:
    return [(problem.path, problem.message) for problem in error.problems]


def problems_of(result: ajo.DefinitionError | list[ajo.Alert]) -> list[str]:
    assert isinstance(result, ajo.DefinitionError), f"expected a refusal: {result}"
    return [problem.path for problem in result.problems]


def codes(result: ajo.DefinitionError | list[ajo.Alert]) -> dict[str, ajo.Alert]:
    assert isinstance(result, list), f"expected alerts, got {result}"
    return {alert.code: alert for alert in result if alert.level == "error"}


# ---------------------------------------------------------------- mutations


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_examples_are_accepted_as_they_are(outcome: Outcome, name: str) -> None:
    result = outcome(copy(name))

    assert codes(result) == {}


@given(name=st.sampled_from(sorted(DOCUMENTS)), data=st.data())
@FUZZ
def test_deleting_a_key(outcome: Outcome, name: str, data: st.DataObject) -> None:
    document = copy(name)
    keys = [where for where, _ in walk(document) if isinstance(where[-1], str)]
    where = data.draw(st.sampled_from(keys), label="deleted")
    del parent_of(document, where)[where[-1]]

    result = outcome(document)

    if isinstance(result, ajo.DefinitionError):
        assert any(related(path, dotted(where)) for path in problems_of(result))


@given(name=st.sampled_from(sorted(DOCUMENTS)), data=st.data())
@FUZZ
def test_a_value_of_the_wrong_type(
    outcome: Outcome, name: str, data: st.DataObject
) -> None:
    document = copy(name)
    where, old = data.draw(st.sampled_from(list(walk(document))), label="replaced")
    new = data.draw(
        json_values.filter(lambda value: json_type(value) != json_type(old)),
        label="value",
    )
    parent_of(document, where)[where[-1]] = new

    result = outcome(document)

    if isinstance(result, ajo.DefinitionError):
        assert any(related(path, dotted(where)) for path in problems_of(result))


TRICKY_TEXT = [
    "", " ", "x", "profiles", "purchases", "missing_table", "amount", "email",
    "profile_id", "p.amount", "email DESC", "email SIDEWAYS", "1 = 1", "1",
    "P", "PT", "PT0S", "P-1D", "P99999999999D", "2026-13-01", "2026-06-01T00:00:00",
    "2026-06-01T00:00:00+01:00", "* * * * *", "not a cron", "Europe/Nowhere",
    "{{ x }}", "{{", "{% for %}", "{{ " + "(" * 120 + "x" + ")" * 120 + " }}",
    "read_csv('/etc/passwd')", "x IN (SELECT 1 FROM read_csv('/etc/passwd'))",
    "'", '"', ")", "(", "a;b", "\\", "é", "\u0000", "../../etc/passwd", "/etc/passwd",
    "examples/data/store-visits.csv", "count >= min_size", "greatest() IS NULL",
]  # fmt: skip
texts = st.sampled_from(TRICKY_TEXT) | st.text(max_size=30)
numbers = st.sampled_from([0, -1, 1, 2**31, -(2**62), 10**15, 0.5, -0.0, 1e300])


@given(name=st.sampled_from(sorted(DOCUMENTS)), data=st.data())
@settings(FUZZ, max_examples=60)
def test_a_value_replaced_by_another_of_its_type(
    outcome: Outcome, name: str, data: st.DataObject
) -> None:
    document = copy(name)
    leaves = [
        (where, value)
        for where, value in walk(document)
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    where, old = data.draw(st.sampled_from(leaves), label="replaced")
    new = data.draw(texts if isinstance(old, str) else numbers, label="value")
    parent_of(document, where)[where[-1]] = new

    result = outcome(document)

    if isinstance(result, ajo.DefinitionError):
        changed = dotted(where)
        if where[-1] == "type":
            # an activity's type decides its other keys: they may be the problem
            changed = dotted(where[:-1])
        assert any(related(path, changed) for path in problems_of(result))


CONDITION_TEXT = [
    "greatest() IS NULL", "coalesce() IS NULL", "count >= 'x'", "count / 0 > 1",
    "cast(count AS decimal(100, 2)) > 1", "country = ", "1 = 1) OR (1 = 1",
    "x IN (SELECT a FROM read_csv('/etc/passwd'))", "lower(", "'unterminated",
    "profile_id IN (SELECT profile_id FROM purchases)", "NULL", "count",
    "min_size", "a;b", "CURRENT_DATE > 1", "email ~ '('", "amount > 1e400",
]  # fmt: skip
TEMPLATE_TEXT = [
    "{{ " + "(" * 120 + "x" + ")" * 120 + " }}",
    "{% if x %}" * 300 + "{% endif %}" * 300,
    "{{ ''.__class__.__mro__ }}", "{{ first_name|attr('__class__') }}",
    "{{ range(10**10)|list }}", "{{ 'a' * 10**10 }}", "{% for %}", "{{",
    "{{ unknown_column }}", "{{ first_name }}", "",
]  # fmt: skip
CONDITION_FIELDS = ("where", "when")
TEMPLATE_FIELDS = ("subject", "body", "title")


@pytest.mark.parametrize(
    ("fields", "text"),
    [(CONDITION_FIELDS, text) for text in CONDITION_TEXT]
    + [(TEMPLATE_FIELDS, text) for text in TEMPLATE_TEXT],
)
@given(name=st.sampled_from(sorted(DOCUMENTS)), data=st.data())
@settings(FUZZ, max_examples=4)
def test_a_bad_condition_or_template(
    outcome: Outcome,
    fields: tuple[str, ...],
    text: str,
    name: str,
    data: st.DataObject,
) -> None:
    document = copy(name)
    found = [where for where, _ in walk(document) if where[-1] in fields]
    if not found:
        return
    where = data.draw(st.sampled_from(found), label="field")
    parent_of(document, where)[where[-1]] = text

    result = outcome(document)

    if isinstance(result, ajo.DefinitionError):
        assert problems_of(result) == [dotted(where)]


@given(name=st.sampled_from(sorted(DOCUMENTS)), data=st.data())
@FUZZ
def test_an_unknown_key(outcome: Outcome, name: str, data: st.DataObject) -> None:
    document = copy(name)
    objects = [()] + [
        where for where, value in walk(document) if isinstance(value, dict)
    ]
    where = data.draw(st.sampled_from(objects), label="object")
    key = data.draw(st.from_regex(r"\Ax_[a-z0-9_]{1,8}\Z"), label="key")
    target = document
    for part in where:
        target = target[part]
    target[key] = data.draw(json_values, label="value")
    added = dotted((*where, key))

    result = outcome(document)

    if (where and where[-1] in OPEN_MAPS) or where[-2:] == ("signal", "variables"):
        if isinstance(result, ajo.DefinitionError):
            assert any(related(path, added) for path in problems_of(result))
    else:
        problems = (
            {p.path: p.message for p in result.problems}
            if isinstance(result, ajo.DefinitionError)
            else {}
        )
        assert added in problems, f"{added} not refused: {result}"
        assert f"unknown key {key!r}" in problems[added]


def slug_paths(document: dict[str, Any]) -> list[Where]:
    found: list[Where] = [("id",)]
    for where, value in walk(document):
        last = where[-1]
        transition = where[0] == "transitions" and last in ("id", "from", "to")
        activity = len(where) == 3 and where[0] == "activities" and last == "id"
        named = len(where) == 5 and last in ("label", "name") and isinstance(value, str)
        branch = len(where) == 4 and where[2] == "branches"
        if transition or activity or named or branch:
            found.append(where)
    return found


@given(name=st.sampled_from(sorted(DOCUMENTS)), data=st.data())
@FUZZ
def test_a_bad_slug(outcome: Outcome, name: str, data: st.DataObject) -> None:
    document = copy(name)
    where = data.draw(st.sampled_from(slug_paths(document)), label="slug")
    bad = data.draw(bad_slugs, label="bad")
    parent_of(document, where)[where[-1]] = bad

    result = outcome(document)

    paths = problems_of(result)
    assert any(related(path, dotted(where)) for path in paths)
    assert "slug" in str(result)


@given(
    name=st.sampled_from(sorted(DOCUMENTS)),
    listed=st.sampled_from(["activities", "transitions"]),
    data=st.data(),
)
@FUZZ
def test_a_duplicate_id(
    outcome: Outcome, name: str, listed: str, data: st.DataObject
) -> None:
    document = copy(name)
    items = document[listed]
    first = data.draw(st.integers(0, len(items) - 2), label="first")
    second = data.draw(st.integers(first + 1, len(items) - 1), label="second")
    items[second]["id"] = items[first]["id"]

    result = outcome(document)

    assert f"{listed}[{second}].id" in problems_of(result)
    assert f"duplicate id {items[first]['id']!r} (first at {listed}[{first}])" in (
        str(result)
    )


@given(
    name=st.sampled_from(sorted(DOCUMENTS)),
    end=st.sampled_from(["from", "to"]),
    ghost=st.from_regex(r"\Aghost[a-z0-9_-]{0,6}\Z"),
    data=st.data(),
)
@FUZZ
def test_a_dangling_transition(
    outcome: Outcome, name: str, end: str, ghost: str, data: st.DataObject
) -> None:
    document = copy(name)
    index = data.draw(st.integers(0, len(document["transitions"]) - 1), label="t")
    transition = document["transitions"][index]
    transition[end] = ghost

    alerts = codes(outcome(document))

    assert "DANGLING_TRANSITION" in alerts
    assert alerts["DANGLING_TRANSITION"].transition_id == transition["id"]
    assert repr(ghost) in alerts["DANGLING_TRANSITION"].message


@given(name=st.sampled_from(sorted(DOCUMENTS)), data=st.data())
@FUZZ
def test_a_cycle(outcome: Outcome, name: str, data: st.DataObject) -> None:
    document = copy(name)
    definition = ajo.parse_definition(document)
    edges = [(t.source, t.target) for t in definition.transitions]
    start = data.draw(st.sampled_from(edges), label="edge")[0]
    reachable = [start]
    for source, target in edges * len(edges):
        if source in reachable and target not in reachable:
            reachable.append(target)
    with_ports = [a for a in reachable if definition.activity(a).ports]
    back = data.draw(st.sampled_from(with_ports), label="back")
    port = definition.activity(back).ports[0]
    document["transitions"].append(
        {"id": "loop", "from": back, "port": port, "to": start}
    )

    alerts = codes(outcome(document))

    assert "CYCLE" in alerts
    assert start in alerts["CYCLE"].message


MUTATIONS = ["delete", "retype", "unknown", "slug", "duplicate", "dangle"]


@given(
    name=st.sampled_from(sorted(DOCUMENTS)),
    kinds=st.lists(st.sampled_from(MUTATIONS), min_size=2, max_size=5),
    data=st.data(),
)
@FUZZ
def test_several_mutations_at_once(
    outcome: Outcome, name: str, kinds: list[str], data: st.DataObject
) -> None:
    document = copy(name)
    for kind in kinds:
        mutate(document, kind, data)

    result = outcome(document)

    if isinstance(result, ajo.DefinitionError):
        assert len(result.problems) <= len(kinds) * 40


def mutate(document: dict[str, Any], kind: str, data: st.DataObject) -> None:
    """One mutation of a kind, applied wherever the document still allows it."""
    values = list(walk(document))
    if kind == "delete" and values:
        where, _ = data.draw(st.sampled_from(values))
        del parent_of(document, where)[where[-1]]
    elif kind == "retype" and values:
        where, _ = data.draw(st.sampled_from(values))
        parent_of(document, where)[where[-1]] = data.draw(json_values)
    elif kind == "unknown":
        document[data.draw(st.from_regex(r"\Ax_[a-z]{1,6}\Z"))] = 1
    elif kind == "slug":
        slugs = [w for w in slug_paths(document) if _exists(document, w)]
        if slugs:
            where = data.draw(st.sampled_from(slugs))
            parent_of(document, where)[where[-1]] = data.draw(bad_slugs)
    elif kind in ("duplicate", "dangle"):
        items = document.get("transitions")
        if isinstance(items, list) and items and isinstance(items[-1], dict):
            items[-1]["to" if kind == "dangle" else "id"] = (
                "ghost" if kind == "dangle" else _first_id(items)
            )


def _exists(document: Any, where: Where) -> bool:
    try:
        parent_of(document, where)[where[-1]]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _first_id(items: list[Any]) -> Any:
    return items[0].get("id") if isinstance(items[0], dict) else "t1"


# ------------------------------------------------------- random documents


top_keys = st.sampled_from(
    [
        *("format", "id", "name", "schedule", "settings", "variables"),
        *("activities", "transitions", "dimension", "description", "extra"),
    ]
)


@given(document=json_values | st.dictionaries(top_keys, json_values, max_size=8))
@FUZZ
def test_random_json_documents(outcome: Outcome, document: Any) -> None:
    result = outcome(document)

    if not isinstance(document, dict | str):  # a string is JSON text
        assert problems_of(result) == ["$"]


@given(text=st.text(max_size=200))
@FUZZ
def test_random_text(outcome: Outcome, text: str) -> None:
    result = outcome(text)

    assert isinstance(result, ajo.DefinitionError | list)


@given(name=st.sampled_from(sorted(TEXTS)), data=st.data())
@FUZZ
def test_truncated_files(outcome: Outcome, name: str, data: st.DataObject) -> None:
    text = TEXTS[name]
    cut = data.draw(st.integers(0, text.rindex("}") - 1), label="cut")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.json"
        path.write_text(text[:cut], encoding="utf-8")

        result = outcome(path)

    paths = problems_of(result)
    assert len(paths) == 1 and "not valid JSON" in str(result)
    found = re.fullmatch(r"line (\d+), column (\d+)", paths[0])
    assert found is not None
    line = int(found.group(1))
    assert 1 <= line <= text[:cut].count("\n") + 1
    assert str(path) in str(result)


@given(
    name=st.sampled_from(sorted(TEXTS)),
    bad=st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3(", b"\xe2\x82", b"\xed\xa0\x80"]),
    data=st.data(),
)
@FUZZ
def test_files_that_are_not_utf8(
    outcome: Outcome, name: str, bad: bytes, data: st.DataObject
) -> None:
    raw = TEXTS[name].encode("utf-8")
    at = data.draw(st.integers(0, len(raw)), label="at")
    at = raw.rfind(b"\n", 0, at) + 1  # the start of a line: never inside a character
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.json"
        path.write_bytes(raw[:at] + bad + raw[at:])

        result = outcome(path)

    line = raw.count(b"\n", 0, at) + 1
    assert problems_of(result) == [f"line {line}, column 1"]
    assert f"not UTF-8 text: byte 0x{bad[0]:02x} at offset {at}" in str(result)


@given(data=st.binary(max_size=300))
@FUZZ
def test_random_bytes(outcome: Outcome, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.json"
        path.write_bytes(data)

        result = outcome(path)

    assert isinstance(result, ajo.DefinitionError | list)


# ------------------------------------------------------------ odd values


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ("[" * 5000 + "]" * 5000, "$", "nested too deeply"),
        ('{"id": "x", "variables": {"n": 1' + "0" * 5000 + "}}", "$", "too long"),
        ('{"id": "x", "variables": {"n": NaN}}', "variables.n", "not a JSON number"),
        ('{"id": "x", "name": "\\ud800"}', "name", "lone surrogate"),
        ({"id": "x", "variables": {1: 2}}, "variables", "keys must be UTF-8 strings"),
        ({"id": "x", "variables": {"n": float("inf")}}, "variables.n", "JSON number"),
        ({"id": "x", "variables": {"n": 2**70}}, "variables.n", "64 bits"),
        ({"id": "x", "variables": {"n": {1, 2}}}, "variables.n", "got set"),
        ({"id": "x\n"}, "id", "expected a slug"),
        ({"id": "x", "variables": {"n\n": 1}}, "variables.n\n", "identifiers"),
        (
            {"id": "x", "activities": [{"id": "e", "type": "end", "signal": {
                "campaign": "c", "variables": {"v": b"bytes"}}}]},
            "activities[0].signal.variables.v",
            "expected a JSON value, got bytes",
        ),
    ],
)  # fmt: skip
def test_values_json_cannot_hold_are_refused(
    outcome: Outcome, document: Any, path: str, message: str
) -> None:
    result = outcome(document)

    assert path in problems_of(result)
    assert message in str(result)


# --------------------------------------------------------- huge documents


def huge_canvas(filters: int = 497, branches: int = 7) -> dict[str, Any]:
    """A valid canvas: audience → fork of ``branches`` filter chains → end.

    With the defaults it has exactly 500 activities, the most a canvas may hold.
    """
    per_branch = filters // branches
    activities: list[dict[str, Any]] = [
        {"id": "all", "type": "build_audience", "where": "profile_id > 0"},
        {"id": "fan", "type": "fork", "branches": [f"b{i}" for i in range(branches)]},
    ]
    transitions = [{"id": "t-all", "from": "all", "to": "fan"}]
    for branch in range(branches):
        previous, port = "fan", f"b{branch}"
        count = per_branch + (1 if branch < filters % branches else 0)
        for step in range(count):
            activity_id = f"f{branch}-{step}"
            activities.append(
                {
                    "id": activity_id,
                    "type": "build_audience",
                    "where": f"profile_id % {step + 2} <> {branch}",
                }
            )
            transition = {"id": f"t-{activity_id}", "from": previous, "to": activity_id}
            if port != "out":
                transition["port"] = port
            transitions.append(transition)
            previous, port = activity_id, "out"
        transitions.append({"id": f"t-end-{branch}", "from": previous, "to": "end"})
    activities.append({"id": "end", "type": "end"})
    return {"id": "huge", "activities": activities, "transitions": transitions}


def test_a_500_activity_canvas_parses_and_validates_in_reasonable_time(
    outcome: Outcome,
) -> None:
    document = huge_canvas()
    started = time.perf_counter()

    alerts = outcome(json.dumps(document))

    elapsed = time.perf_counter() - started
    assert len(document["activities"]) == 500
    assert isinstance(alerts, list)
    assert [alert.code for alert in alerts] == ["MANY_ACTIVITIES"]
    assert elapsed < 30, f"500 activities took {elapsed:.1f} s to parse and validate"


def _huge_with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = huge_canvas()
    change(document)
    return document


def _duplicate(document: dict[str, Any]) -> None:
    document["activities"][400]["id"] = document["activities"][10]["id"]


def _retype(document: dict[str, Any]) -> None:
    document["activities"][498]["where"] = 5


def _cycle(document: dict[str, Any]) -> None:
    document["transitions"].append({"id": "back", "from": "f6-69", "to": "f6-0"})


def _dangle(document: dict[str, Any]) -> None:
    document["transitions"][250]["to"] = "nowhere"


def _too_many(document: dict[str, Any]) -> None:
    document["activities"].insert(-1, {"id": "extra", "type": "alert", "title": "x"})
    document["transitions"][-1:] = [
        {"id": "t-extra", "from": "f6-70", "to": "extra"},
        {"id": "t-end-6", "from": "extra", "to": "end"},
    ]


def _bad_condition(document: dict[str, Any]) -> None:
    document["activities"][300]["where"] = "profile_id IN (SELECT * FROM read_csv('x'))"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_duplicate, "activities[400].id"),
        (_retype, "activities[498].where"),
        (_cycle, "CYCLE"),
        (_dangle, "DANGLING_TRANSITION"),
        (_too_many, "TOO_MANY_ACTIVITIES"),
        (_bad_condition, "BAD_CONDITION"),
    ],
)
def test_broken_500_activity_canvases(
    outcome: Outcome, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    started = time.perf_counter()

    result = outcome(json.dumps(_huge_with(change)))

    if isinstance(result, ajo.DefinitionError):
        assert problems_of(result) == [expected]
    else:
        assert expected in codes(result)
    assert time.perf_counter() - started < 30


# ------------------------------------------------------ blocked, unchanged


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_cycle, "CYCLE"),
        (_dangle, "DANGLING_TRANSITION"),
        (_too_many, "TOO_MANY_ACTIVITIES"),
        (_bad_condition, "BAD_CONDITION"),
    ],
)
def test_start_is_refused_and_runs_nothing(
    fresh_workspace: ajo.Workspace,
    state_of: Callable[[ajo.Workspace], dict[str, object]],
    change: Callable[[dict[str, Any]], None],
    code: str,
) -> None:
    campaign = fresh_workspace.load_campaign(_huge_with(change))
    before = state_of(fresh_workspace)

    with pytest.raises(ajo.LifecycleError, match=r"validation found \d+ error") as info:
        campaign.start()

    assert f"error {code}" in str(info.value)
    after = state_of(fresh_workspace)
    changed = {key for key in before | after if before.get(key) != after.get(key)}
    # The refusal is logged, and the log's ids come from sqlite_sequence.
    assert changed <= {"db:logs", "db:sqlite_sequence"}, sorted(changed)
    assert campaign.executions == []

"""Campaign definitions and the JSON file format (``ajo-workbench/campaign@1``).

A definition is immutable. :func:`parse_definition` checks a whole document and
reports every format problem at once; :meth:`CampaignDefinition.to_json` writes the
canonical text, so that load then save gives the same text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from ajo_workbench.errors import DefinitionError, Problem
from ajo_workbench.model.catalogue import (
    ACTIVITY_TYPES,
    COMMON_KEYS,
    ActivityType,
    Setting,
    ports_of,
)

FORMAT = "ajo-workbench/campaign@1"
# \Z, not $: a trailing newline is not part of a slug.
SLUG = re.compile(r"\A[a-z0-9][a-z0-9_-]*\Z")
VARIABLE_NAME = re.compile(r"\A[a-z_][a-z0-9_]*\Z")
MAX_DEPTH = 64
"""How deeply objects and lists of a document may nest."""
TOP_KEYS = (
    "format",
    "id",
    "name",
    "description",
    "dimension",
    "schedule",
    "settings",
    "variables",
    "activities",
    "transitions",
)
ErrorPolicy = Literal["suspend", "ignore", "abort"]
ERROR_POLICIES = ("suspend", "ignore", "abort")
SCHEDULE_KEYS: Mapping[str, Mapping[str, Setting]] = {
    "asap": {},
    "once": {"at": Setting("str", required=True)},
    "recurring": {
        "cron": Setting("str", required=True),
        "timezone": Setting("str"),
        "start": Setting("str"),
        "end": Setting("str"),
    },
    "signal": {
        "parameters": Setting(
            "object_list",
            item={
                "name": Setting("slug", required=True),
                "type": Setting(
                    "enum", choices=("string", "int", "float", "bool", "datetime")
                ),
                "test_value": Setting("scalar"),
            },
        ),
        "min_interval": Setting("str"),
    },
}
SETTINGS_KEYS: Mapping[str, Setting] = {
    "error_policy": Setting("enum", choices=ERROR_POLICIES),
    "consecutive_errors": Setting("int", minimum=0),
    "keep_interim_results": Setting("bool"),
    "send_confirmation": Setting("bool"),
}


@dataclass(frozen=True)
class Activity:
    """A node of the canvas: its id, type, label and type-specific settings."""

    id: str
    type: str
    label: str = ""
    disabled: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> ActivityType:
        """The catalogue entry of this activity's type."""
        return ACTIVITY_TYPES[self.type]

    @property
    def ports(self) -> list[str]:
        """The output ports, in order."""
        return ports_of(self.type, self.settings)

    def get(self, key: str, default: Any = None) -> Any:
        """A setting's value, or ``default`` when it is not set."""
        return self.settings.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The activity as it appears in the file, keys in catalogue order."""
        document: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.label:
            document["label"] = self.label
        order = list(self.spec.settings) if self.type in ACTIVITY_TYPES else []
        for key in order:
            if key in self.settings:
                document[key] = self.settings[key]
        if self.disabled:
            document["disabled"] = True
        return document


@dataclass(frozen=True)
class Transition:
    """An edge of the canvas, from one activity's output port to another activity."""

    id: str
    source: str
    target: str
    port: str = "out"

    def to_dict(self) -> dict[str, Any]:
        """The transition as it appears in the file."""
        document = {"id": self.id, "from": self.source}
        if self.port != "out":
            document["port"] = self.port
        document["to"] = self.target
        return document


@dataclass(frozen=True)
class CampaignSettings:
    """Execution settings of a campaign (SPEC §3)."""

    error_policy: ErrorPolicy = "suspend"
    consecutive_errors: int = 0
    keep_interim_results: bool = False
    send_confirmation: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The settings in file order."""
        return {
            "error_policy": self.error_policy,
            "consecutive_errors": self.consecutive_errors,
            "keep_interim_results": self.keep_interim_results,
            "send_confirmation": self.send_confirmation,
        }


@dataclass(frozen=True)
class CampaignDefinition:
    """A whole campaign document: metadata, schedule, settings and the canvas."""

    id: str
    name: str
    activities: tuple[Activity, ...] = ()
    transitions: tuple[Transition, ...] = ()
    description: str = ""
    dimension: str = "profiles"
    schedule: Mapping[str, Any] = field(default_factory=lambda: {"type": "asap"})
    settings: CampaignSettings = field(default_factory=CampaignSettings)
    variables: Mapping[str, Any] = field(default_factory=dict)

    def activity(self, activity_id: str) -> Activity:
        """The activity with this id; ``KeyError`` names the known ids."""
        for activity in self.activities:
            if activity.id == activity_id:
                return activity
        known = ", ".join(repr(a.id) for a in self.activities)
        raise KeyError(f"no activity {activity_id!r} (activities: {known})")

    def transition(self, transition_id: str) -> Transition:
        """The transition with this id; ``KeyError`` names the known ids."""
        for transition in self.transitions:
            if transition.id == transition_id:
                return transition
        known = ", ".join(repr(t.id) for t in self.transitions)
        raise KeyError(f"no transition {transition_id!r} (transitions: {known})")

    def inbound(self, activity_id: str) -> list[Transition]:
        """Transitions into an activity, in file order."""
        return [t for t in self.transitions if t.target == activity_id]

    def outbound(self, activity_id: str) -> list[Transition]:
        """Transitions out of an activity, in file order."""
        return [t for t in self.transitions if t.source == activity_id]

    def with_changes(self, **changes: Any) -> CampaignDefinition:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The canonical document, keys in a fixed order."""
        return {
            "format": FORMAT,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "dimension": self.dimension,
            "schedule": dict(self.schedule),
            "settings": self.settings.to_dict(),
            "variables": dict(self.variables),
            "activities": [a.to_dict() for a in self.activities],
            "transitions": [t.to_dict() for t in self.transitions],
        }

    def to_json(self) -> str:
        """The canonical JSON text (two-space indent, trailing newline)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the canonical JSON text to a file."""
        Path(path).write_text(self.to_json(), encoding="utf-8")


def load_definition(path: str | Path) -> CampaignDefinition:
    """Read and check a campaign file; raises DefinitionError listing every problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        problem = Problem(str(path), f"can't read the file: {error.strerror}")
        raise DefinitionError([problem], source=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DefinitionError([_not_utf8(data, error)], source=str(path)) from None
    return parse_definition(text, source=str(path))


def _not_utf8(data: bytes, error: UnicodeDecodeError) -> Problem:
    line = data.count(b"\n", 0, error.start) + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    byte = data[error.start]
    return Problem(
        f"line {line}, column {column}",
        f"not UTF-8 text: byte 0x{byte:02x} at offset {error.start}; "
        "save the file as UTF-8",
        byte,
    )


def parse_definition(
    document: str | Mapping[str, Any], source: str = "campaign"
) -> CampaignDefinition:
    """Check a campaign document (JSON text or mapping) and build its definition.

    Raises
    ------
    DefinitionError
        With every problem found, each naming its path, the value and what is
        allowed.
    """
    if isinstance(document, str):
        document = _decode(document, source)
    values = _json_values(document)
    if values:
        raise DefinitionError(values, source=source)
    reader = _Reader()
    definition = reader.campaign(document)
    if reader.problems or definition is None:
        raise DefinitionError(reader.problems, source=source)
    return definition


def _decode(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        problem = Problem(where, f"not valid JSON: {error.msg}")
    except RecursionError:
        problem = Problem("$", f"nested too deeply (at most {MAX_DEPTH} levels)")
    except ValueError:
        # The only other refusal of json.loads: an integer of over 4,300 digits.
        problem = Problem("$", "a number is too long (at most 4300 digits)")
    raise DefinitionError([problem], source=source) from None


def _json_values(document: Any) -> list[Problem]:
    """Values a JSON file can't hold: non-string keys, lone surrogates, NaN, ...

    A mapping handed to :func:`parse_definition` may hold them; so may text for
    the values ``json`` accepts beyond the standard (``NaN``, ``Infinity``).
    The walk uses its own stack, so a deep document can't exhaust Python's.
    """
    problems: list[Problem] = []
    stack: list[tuple[str, Any, int]] = [("$", document, 0)]
    while stack and len(problems) < 20:
        path, value, depth = stack.pop()
        problem = _json_value_problem(value, depth)
        if problem:
            problems.append(Problem(path, problem, value))
            continue

        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or _unencodable(key):
                    problems.append(
                        Problem(path, f"keys must be UTF-8 strings, got {key!r}", key)
                    )
                    continue
                child = key if path == "$" else f"{path}.{key}"
                stack.append((child, item, depth + 1))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                stack.append((f"{path}[{index}]", item, depth + 1))
    return sorted(problems, key=lambda problem: problem.path)


def _json_value_problem(value: Any, depth: int) -> str | None:
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, str):
        return "a lone surrogate can't be UTF-8 text" if _unencodable(value) else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a JSON number"
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value.bit_length() < 64 else "integers are limited to 64 bits"
    if value is None or isinstance(value, bool | float | dict | list | tuple):
        return None
    return f"expected a JSON value, got {type(value).__name__}"


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Reader:
    """Walks a document and collects problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str, value: Any = None) -> None:
        self.problems.append(Problem(path, message, value))

    def campaign(self, document: Any) -> CampaignDefinition | None:
        if not isinstance(document, dict):
            self.fail("$", f"expected a JSON object, got {_kind(document)}")
            return None
        self._keys(document, "", TOP_KEYS)
        if document.get("format", FORMAT) != FORMAT:
            self.fail("format", f"expected {FORMAT!r}, got {document['format']!r}")
        campaign_id = self._slug(document.get("id"), "id")
        name = self._text(document.get("name", campaign_id or ""), "name")
        description = self._text(document.get("description", ""), "description")
        dimension = self._text(document.get("dimension", "profiles"), "dimension")
        schedule = self._schedule(document.get("schedule", {"type": "asap"}))
        settings = self._settings(document.get("settings", {}))
        variables = self._variables(document.get("variables", {}))
        activities = self._activities(document.get("activities", []))
        transitions = self._transitions(document.get("transitions", []))
        if self.problems or campaign_id is None:
            return None
        return CampaignDefinition(
            id=campaign_id,
            name=name or campaign_id,
            description=description or "",
            dimension=dimension or "profiles",
            schedule=schedule,
            settings=settings,
            variables=variables,
            activities=tuple(activities),
            transitions=tuple(transitions),
        )

    def _keys(
        self, document: Mapping[str, Any], path: str, allowed: Any, of: str = ""
    ) -> None:
        """Refuse keys missing from ``allowed``; ``of`` names what they belong to
        (such as "a sms activity"), when its kind decides them."""
        for key in document:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                names = ", ".join(allowed) or "none"
                owner = f" for {of}" if of else ""
                self.fail(where, f"unknown key {key!r}{owner} (allowed: {names})", key)

    def _slug(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not SLUG.match(value):
            self.fail(
                path,
                f"expected a slug ([a-z0-9][a-z0-9_-]*), got {value!r}",
                value,
            )
            return None
        return value

    def _text(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_kind(value)} {value!r}", value)
            return None
        return value

    def _schedule(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail("schedule", f"expected an object, got {_kind(value)}", value)
            return {"type": "asap"}
        kind = value.get("type")
        if not isinstance(kind, str) or kind not in SCHEDULE_KEYS:
            allowed = ", ".join(SCHEDULE_KEYS)
            self.fail("schedule.type", f"{kind!r} is not one of: {allowed}", kind)
            return {"type": "asap"}
        self._object(value, "schedule", {"type": Setting("str"), **SCHEDULE_KEYS[kind]})
        return {
            key: value[key] for key in ["type", *SCHEDULE_KEYS[kind]] if key in value
        }

    def _settings(self, value: Any) -> CampaignSettings:
        if not isinstance(value, dict):
            self.fail("settings", f"expected an object, got {_kind(value)}", value)
            return CampaignSettings()
        self._object(value, "settings", SETTINGS_KEYS)
        defaults = CampaignSettings()
        if any(problem.path.startswith("settings") for problem in self.problems):
            return defaults
        return CampaignSettings(
            error_policy=value.get("error_policy", defaults.error_policy),
            consecutive_errors=value.get(
                "consecutive_errors", defaults.consecutive_errors
            ),
            keep_interim_results=value.get(
                "keep_interim_results", defaults.keep_interim_results
            ),
            send_confirmation=value.get(
                "send_confirmation", defaults.send_confirmation
            ),
        )

    def _variables(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail("variables", f"expected an object, got {_kind(value)}", value)
            return {}
        for name, item in value.items():
            if not VARIABLE_NAME.match(name):
                self.fail(
                    f"variables.{name}",
                    "variable names are lower-case identifiers ([a-z_][a-z0-9_]*)",
                    name,
                )
            self._setting(item, f"variables.{name}", Setting("scalar"))
        return dict(value)

    def _activities(self, value: Any) -> list[Activity]:
        if not isinstance(value, list):
            self.fail("activities", f"expected a list, got {_kind(value)}", value)
            return []
        activities: list[Activity] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(value):
            path = f"activities[{index}]"
            activity = self._activity(item, path)
            if activity is None:
                continue
            if activity.id in seen:
                first = f"activities[{seen[activity.id]}]"
                self.fail(
                    f"{path}.id", f"duplicate id {activity.id!r} (first at {first})"
                )
            seen.setdefault(activity.id, index)
            activities.append(activity)
        return activities

    def _activity(self, item: Any, path: str) -> Activity | None:
        if not isinstance(item, dict):
            self.fail(path, f"expected an object, got {_kind(item)}", item)
            return None
        activity_id = self._slug(item.get("id"), f"{path}.id")
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in ACTIVITY_TYPES:
            allowed = ", ".join(ACTIVITY_TYPES)
            self.fail(
                f"{path}.type", f"unknown activity type {kind!r} ({allowed})", kind
            )
            return None
        spec = ACTIVITY_TYPES[kind]
        article = "an" if kind[0] in "aeiou" else "a"
        self._keys(
            item, path, [*COMMON_KEYS, *spec.settings], f"{article} {kind} activity"
        )
        label = self._text(item.get("label", ""), f"{path}.label")
        disabled = self._setting(
            item.get("disabled", False), f"{path}.disabled", Setting("bool")
        )
        settings = {key: item[key] for key in spec.settings if key in item}
        self._object(settings, path, spec.settings, check_keys=False)
        if activity_id is None:
            return None
        return Activity(activity_id, kind, label or "", bool(disabled), settings)

    def _transitions(self, value: Any) -> list[Transition]:
        if not isinstance(value, list):
            self.fail("transitions", f"expected a list, got {_kind(value)}", value)
            return []
        transitions: list[Transition] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(value):
            path = f"transitions[{index}]"
            if not isinstance(item, dict):
                self.fail(path, f"expected an object, got {_kind(item)}", item)
                continue
            self._keys(item, path, ("id", "from", "port", "to"))
            ids = [
                self._slug(item.get(key), f"{path}.{key}")
                for key in ("id", "from", "to")
            ]
            port = self._text(item.get("port", "out"), f"{path}.port")
            if None in ids or port is None:
                continue
            transition_id, source, target = cast(list[str], ids)
            if transition_id in seen:
                first = f"transitions[{seen[transition_id]}]"
                self.fail(
                    f"{path}.id", f"duplicate id {transition_id!r} (first at {first})"
                )
            seen.setdefault(transition_id, index)
            transitions.append(Transition(transition_id, source, target, port))
        return transitions

    def _object(
        self,
        value: Mapping[str, Any],
        path: str,
        spec: Mapping[str, Setting],
        check_keys: bool = True,
    ) -> None:
        if check_keys:
            self._keys(value, path, list(spec))
        for key, setting in spec.items():
            where = f"{path}.{key}" if path else key
            if key not in value:
                if setting.required:
                    self.fail(where, f"is required ({_describe(setting)})")
                continue
            self._setting(value[key], where, setting)

    def _setting(self, value: Any, path: str, setting: Setting) -> Any:
        check = _CHECKS[setting.kind]
        message = check(value, setting)
        if message:
            self.fail(path, message, value)
            return None
        if setting.kind == "object_list":
            for index, item in enumerate(value):
                if setting.item is not None:
                    self._object(item, f"{path}[{index}]", setting.item)
        if setting.kind == "object" and setting.item is not None:
            self._object(value, path, setting.item)
        return value


def _kind(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _describe(setting: Setting) -> str:
    if setting.kind == "enum":
        return "one of: " + ", ".join(setting.choices)
    return {
        "str": "a string",
        "slug": "a slug ([a-z0-9][a-z0-9_-]*)",
        "condition": "a SQL boolean condition",
        "bool": "true or false",
        "int": "an integer",
        "number": "a number",
        "scalar": "a number, string or boolean",
        "str_list": "a list of strings",
        "slug_list": "a list of slugs",
        "str_map": "an object of strings",
        "object_list": "a list of objects",
        "object": "an object",
        "enum": "one of the choices",
    }[setting.kind]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(value: float, setting: Setting) -> str | None:
    if setting.minimum is not None and value < setting.minimum:
        return f"must be at least {setting.minimum:g}, got {value!r}"
    if setting.maximum is not None and value > setting.maximum:
        return f"must be at most {setting.maximum:g}, got {value!r}"
    return None


def _expect(ok: bool, value: Any, setting: Setting) -> str | None:
    if ok:
        return None
    return f"expected {_describe(setting)}, got {_kind(value)} {value!r}"


def _check_str(value: Any, setting: Setting) -> str | None:
    return _expect(isinstance(value, str), value, setting)


def _check_slug(value: Any, setting: Setting) -> str | None:
    return _expect(isinstance(value, str) and bool(SLUG.match(value)), value, setting)


def _check_condition(value: Any, setting: Setting) -> str | None:
    return _expect(isinstance(value, str) and bool(value.strip()), value, setting)


def _check_bool(value: Any, setting: Setting) -> str | None:
    return _expect(isinstance(value, bool), value, setting)


def _check_int(value: Any, setting: Setting) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return _expect(ok, value, setting) or _check_range(value, setting)


def _check_number(value: Any, setting: Setting) -> str | None:
    return _expect(_is_number(value), value, setting) or _check_range(value, setting)


def _check_scalar(value: Any, setting: Setting) -> str | None:
    ok = isinstance(value, str | bool) or _is_number(value) or value is None
    return _expect(ok, value, setting)


def _check_enum(value: Any, setting: Setting) -> str | None:
    if value in setting.choices:
        return None
    return f"{value!r} is not one of: {', '.join(setting.choices)}"


def _check_str_list(value: Any, setting: Setting) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return _expect(ok, value, setting)


def _check_slug_list(value: Any, setting: Setting) -> str | None:
    ok = isinstance(value, list) and all(
        isinstance(v, str) and SLUG.match(v) for v in value
    )
    return _expect(ok, value, setting)


def _check_str_map(value: Any, setting: Setting) -> str | None:
    ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if not ok:
        return _expect(False, value, setting)
    bad = [v for v in value.values() if setting.choices and v not in setting.choices]
    if bad:
        return f"{bad[0]!r} is not one of: {', '.join(setting.choices)}"
    return None


def _check_object_list(value: Any, setting: Setting) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
    return _expect(ok, value, setting)


def _check_object(value: Any, setting: Setting) -> str | None:
    return _expect(isinstance(value, dict), value, setting)


_CHECKS = {
    "str": _check_str,
    "slug": _check_slug,
    "condition": _check_condition,
    "bool": _check_bool,
    "int": _check_int,
    "number": _check_number,
    "scalar": _check_scalar,
    "enum": _check_enum,
    "str_list": _check_str_list,
    "slug_list": _check_slug_list,
    "str_map": _check_str_map,
    "object_list": _check_object_list,
    "object": _check_object,
}


def iter_conditions(definition: CampaignDefinition) -> Iterator[tuple[str, str, str]]:
    """Every SQL condition of the canvas as (activity id, path, text)."""
    for index, activity in enumerate(definition.activities):
        base = f"activities[{index}]"
        if isinstance(activity.get("where"), str):
            yield activity.id, f"{base}.where", activity.settings["where"]
        for key, field_name in (("subsets", "where"), ("attributes", "where")):
            for position, item in enumerate(activity.get(key) or []):
                if isinstance(item.get(field_name), str):
                    path = f"{base}.{key}[{position}].{field_name}"
                    yield activity.id, path, item[field_name]

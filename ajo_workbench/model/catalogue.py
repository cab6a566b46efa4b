"""The activity catalogue: every activity type, its settings, inputs and ports.

The catalogue is data, so the file format, the builder, validation and the canvas
all read the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Category = Literal["targeting", "flow", "channel"]

SettingKind = Literal[
    "str",
    "slug",
    "condition",
    "bool",
    "int",
    "number",
    "scalar",
    "enum",
    "str_list",
    "slug_list",
    "str_map",
    "object_list",
    "object",
]


@dataclass(frozen=True)
class Setting:
    """One key of an activity (or of an object inside one)."""

    kind: SettingKind
    required: bool = False
    choices: tuple[str, ...] = ()
    item: Mapping[str, Setting] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class ActivityType:
    """What an activity type accepts and produces."""

    name: str
    category: Category
    min_inbound: int
    max_inbound: int | None
    settings: Mapping[str, Setting]
    ports: Callable[[Mapping[str, Any]], list[str]] = field(
        default=lambda settings: ["out"]
    )


def _str(required: bool = False) -> Setting:
    return Setting("str", required)


def _enum(*choices: str, required: bool = False) -> Setting:
    return Setting("enum", required, choices=choices)


def _bool() -> Setting:
    return Setting("bool")


DATA_TYPES = ("string", "int", "float", "bool", "date", "datetime")
AGGREGATES = ("count", "sum", "min", "max", "mean")
CHANNEL_CATEGORIES = ("marketing", "transactional")

SUBSET = {
    "label": Setting("slug", required=True),
    "where": Setting("condition", required=True),
    "limit": Setting("int", minimum=0),
    "limit_percent": Setting("number", minimum=0, maximum=100),
    "order_by": Setting("str_list"),
    "random": _bool(),
    "seed": Setting("int"),
}
ATTRIBUTE = {
    "name": Setting("slug", required=True),
    "link": _str(required=True),
    "aggregate": _enum(*AGGREGATES),
    "column": _str(),
    "where": Setting("condition"),
    "default": Setting("scalar"),
}
TEST_CONDITION = {
    "label": Setting("slug", required=True),
    "when": Setting("condition", required=True),
}
END_SIGNAL = {
    "campaign": _str(required=True),
    "variables": Setting("object"),
}


def _split_ports(settings: Mapping[str, Any]) -> list[str]:
    subsets = settings.get("subsets") or []
    labels = [s["label"] for s in subsets if isinstance(s, dict) and "label" in s]
    return [*labels, "complement"] if settings.get("complement") else labels


def _with_complement(settings: Mapping[str, Any]) -> list[str]:
    return ["out", "complement"]


def _combine_ports(settings: Mapping[str, Any]) -> list[str]:
    if settings.get("mode") in ("intersection", "exclusion"):
        return ["out", "complement"]
    return ["out"]


def _fork_ports(settings: Mapping[str, Any]) -> list[str]:
    return [str(branch) for branch in settings.get("branches") or []]


def _test_ports(settings: Mapping[str, Any]) -> list[str]:
    conditions = settings.get("conditions") or []
    labels = [c["label"] for c in conditions if isinstance(c, dict) and "label" in c]
    return [*labels, "default"] if settings.get("default") else labels


def _no_ports(settings: Mapping[str, Any]) -> list[str]:
    return []


def _channel(*content: str) -> dict[str, Setting]:
    settings = {name: _str() for name in content}
    settings.update(
        category=_enum(*CHANNEL_CATEGORIES),
        address_field=_str(),
        rate_per_second=Setting("number", minimum=0),
        send_confirmation=_bool(),
    )
    return settings


_TYPES = [
    ActivityType(
        "build_audience",
        "targeting",
        0,
        1,
        {
            "dimension": _str(),
            "where": Setting("condition"),
            "emit_when_empty": _bool(),
        },
    ),
    ActivityType("read_audience", "targeting", 0, 1, {"audience": _str(True)}),
    ActivityType(
        "load_file",
        "targeting",
        0,
        1,
        {
            "path": _str(True),
            "format": _enum("csv", "parquet"),
            "columns": Setting("str_map", choices=DATA_TYPES),
            "on_error": _enum("reject", "fail"),
        },
        lambda settings: ["out", "rejects"],
    ),
    ActivityType(
        "incremental_query",
        "targeting",
        0,
        1,
        {
            "dimension": _str(),
            "where": Setting("condition"),
            "processed_field": _str(True),
        },
    ),
    ActivityType(
        "combine",
        "targeting",
        2,
        None,
        {
            "mode": _enum("union", "intersection", "exclusion", required=True),
            "primary": _str(),
        },
        _combine_ports,
    ),
    ActivityType(
        "deduplication",
        "targeting",
        1,
        1,
        {
            "keys": Setting("str_list", required=True),
            "keep": _enum("first", "last"),
            "order_by": Setting("str_list"),
        },
        _with_complement,
    ),
    ActivityType(
        "enrichment",
        "targeting",
        1,
        1,
        {"attributes": Setting("object_list", required=True, item=ATTRIBUTE)},
    ),
    ActivityType(
        "reconciliation",
        "targeting",
        1,
        1,
        {
            "dimension": _str(),
            "match": Setting("str_map", required=True),
            "keep_unreconciled": _bool(),
        },
        _with_complement,
    ),
    ActivityType(
        "change_dimension",
        "targeting",
        1,
        1,
        {"dimension": _str(True), "via": _str(True)},
    ),
    ActivityType(
        "split",
        "targeting",
        1,
        1,
        {
            "subsets": Setting("object_list", required=True, item=SUBSET),
            "overlapping": _bool(),
            "complement": _bool(),
            "skip_empty": _bool(),
        },
        _split_ports,
    ),
    ActivityType("save_audience", "targeting", 1, 1, {"audience": _str(True)}),
    ActivityType("wait", "flow", 1, 1, {"duration": _str(), "until": _str()}),
    ActivityType(
        "fork",
        "flow",
        1,
        1,
        {"branches": Setting("slug_list", required=True)},
        _fork_ports,
    ),
    ActivityType("and_join", "flow", 2, None, {"primary": _str(True)}),
    ActivityType(
        "test",
        "flow",
        1,
        1,
        {
            "conditions": Setting("object_list", required=True, item=TEST_CONDITION),
            "default": _bool(),
        },
        _test_ports,
    ),
    ActivityType("alert", "flow", 1, 1, {"title": _str(True), "message": _str()}),
    ActivityType(
        "end",
        "flow",
        1,
        None,
        {"signal": Setting("object", item=END_SIGNAL)},
        _no_ports,
    ),
    ActivityType("email", "channel", 1, 1, _channel("subject", "body", "sender")),
    ActivityType("sms", "channel", 1, 1, _channel("body")),
    ActivityType("push", "channel", 1, 1, _channel("title", "body")),
]

ACTIVITY_TYPES: Mapping[str, ActivityType] = {t.name: t for t in _TYPES}
"""Every activity type by name, in catalogue order."""

COMMON_KEYS = ("id", "type", "label", "disabled")
"""Keys every activity accepts, before its own settings."""

CHANNEL_ADDRESS = {"email": "email", "sms": "phone", "push": "push_token"}
CHANNEL_CONSENT = {
    "email": "email_consent",
    "sms": "sms_consent",
    "push": "push_consent",
}
CHANNEL_CONTENT = {
    "email": ("subject", "body"),
    "sms": ("body",),
    "push": ("title", "body"),
}


def ports_of(activity_type: str, settings: Mapping[str, Any]) -> list[str]:
    """The output ports of an activity with these settings."""
    spec = ACTIVITY_TYPES.get(activity_type)
    return spec.ports(settings) if spec else []

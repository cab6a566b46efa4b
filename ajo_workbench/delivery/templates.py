"""Rendering a channel activity's content for one recipient, inside a sandbox.

Templates use Jinja placeholders over the recipient's row (``{{ first_name }}``,
``{{ total_spent | round(2) }}``). They run in a sandbox that offers no globals and
reads no attribute of a value, so a template reaches the row's values and a list of
filters (:data:`ALLOWED_FILTERS`), never Python objects. HTML e-mail bodies escape
every value (there is no ``safe`` filter); subjects, SMS and push texts are plain text
and are not escaped.

Content can't make the renderer run away either. Macros, call blocks, recursive loops,
other templates and ``self`` are refused when the text is compiled; ``*``, ``**`` and
``%`` refuse results beyond :data:`MAX_TEXT` characters (or :data:`MAX_INT_BITS`
bits); loops stop after :data:`MAX_ITERATIONS` iterations per rendering, and one field
stops at :data:`MAX_OUTPUT` characters.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
import jinja2.meta
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ajo_workbench.errors import TemplateError
from ajo_workbench.model.catalogue import CHANNEL_ADDRESS, CHANNEL_CONTENT

FIELD_LIMIT = 12
"""Row columns listed at most in an error message."""


@dataclass(frozen=True)
class RenderedMessage:
    """One message as the recipient would see it.

    ``subject`` is an e-mail's subject or a push notification's title, and None for
    SMS. ``body`` is HTML for e-mail and plain text otherwise.
    """

    channel: str
    address: str
    subject: str | None
    body: str
    message_id: str = ""
    sender: str | None = None
    profile_id: str | None = None

    @property
    def html(self) -> bool:
        """Whether the body is HTML."""
        return self.channel == "email"

    def to_dict(self) -> dict[str, Any]:
        """The message as JSON-ready values."""
        return {
            "message_id": self.message_id,
            "channel": self.channel,
            "profile_id": self.profile_id,
            "address": self.address,
            "sender": self.sender,
            "subject": self.subject,
            "body": self.body,
        }


MAX_TEXT = 100_000
"""Characters (or items) a repetition, padding or formatting may produce."""

MAX_INT_BITS = 4_096
"""Bits a product or power of integers may have."""

MAX_ITERATIONS = 10_000
"""Loop iterations one rendering may run, all loops together."""

MAX_OUTPUT = 1_000_000
"""Characters one rendered field may have."""

MAX_WIDTH = 1_000
"""Width or precision a ``%`` format may ask for."""

ALLOWED_FILTERS: frozenset[str] = frozenset(
    {
        "abs", "attr", "capitalize", "count", "d", "default", "e", "escape",
        "filesizeformat", "first", "float", "format", "int", "join", "last",
        "length", "list", "lower", "max", "min", "replace", "reverse", "round",
        "sort", "string", "striptags", "sum", "title", "trim", "truncate",
        "unique", "upper", "urlencode", "wordcount",
    }
)  # fmt: skip

_REFUSED_NODES: dict[type[nodes.Node], str] = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Include: "{% include %}",
    nodes.Extends: "{% extends %}",
}
_LOOP_FILTER = "_ajo_counted_loop"
_PRINTF = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?"
)


class _LimitError(Exception):
    """A rendering would go beyond one of the sandbox's limits."""


_iterations: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "ajo_template_iterations", default=None
)


def _check_printf(text: str) -> None:
    for spec in _PRINTF.finditer(text):
        for part in ("width", "precision"):
            value = spec.group(part)
            if value == "*":
                raise _LimitError(f"a '%' format takes no '*' {part}")

            if value and int(value) > MAX_WIDTH:
                raise _LimitError(
                    f"a '%' format asks for a {part} of {value} (at most {MAX_WIDTH})"
                )


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "%" and isinstance(left, str):
        _check_printf(left)
        return

    if operator == "*" and _is_int(left) != _is_int(right):
        sized, times = (right, left) if _is_int(left) else (left, right)
        if isinstance(sized, str | list | tuple) and len(sized) * times > MAX_TEXT:
            raise _LimitError(
                f"'*' would make {len(sized) * times} characters or items "
                f"(at most {MAX_TEXT})"
            )

    if not (_is_int(left) and _is_int(right)):
        return

    if operator == "*" and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise _LimitError(f"'*' would make an integer over {MAX_INT_BITS} bits")

    grows = operator == "**" and right > 0 and abs(left) > 1
    if grows and right * left.bit_length() > MAX_INT_BITS:
        raise _LimitError(
            f"{left} ** {right} would be an integer over {MAX_INT_BITS} bits"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@jinja2.pass_context
def _counted_loop(context: Any, items: Iterable[Any]) -> Iterator[Any]:
    """Iterate a loop's items, counting them against the rendering's budget."""
    spent = _iterations.get()
    for item in items:
        if spent is not None:
            spent[0] += 1
            if spent[0] > MAX_ITERATIONS:
                raise _LimitError(f"loops ran more than {MAX_ITERATIONS} iterations")
        yield item


def _guarded_format(original: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(original)
    def run(value: Any, *args: Any, **kwargs: Any) -> str:
        _check_printf(str(value))
        return original(value, *args, **kwargs)

    return run


def _guarded_join(original: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(original)
    def run(eval_ctx: Any, value: Any, d: str = "", *args: Any, **kwargs: Any) -> str:
        items = list(value)
        if len(items) > 1 and (len(items) - 1) * len(str(d)) > MAX_TEXT:
            raise _LimitError(
                f"join would make over {MAX_TEXT} characters of separators"
            )
        return original(eval_ctx, items, d, *args, **kwargs)

    return run


def _guarded_replace(original: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(original)
    def run(eval_ctx: Any, s: Any, old: Any, new: Any, *args: Any) -> str:
        text, old_text, new_text = str(s), str(old), str(new)
        count = text.count(old_text)
        size = len(text) + count * (len(new_text) - len(old_text))
        if size > MAX_TEXT:
            raise _LimitError(
                f"replace would make {size} characters (at most {MAX_TEXT})"
            )
        return original(eval_ctx, s, old, new, *args)

    return run


_GUARDS = {
    "format": _guarded_format,
    "join": _guarded_join,
    "replace": _guarded_replace,
}


class _Sandbox(SandboxedEnvironment):
    """A sandbox that reads no attribute of a value and bounds what grows."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Rows hold scalars; filters cover formatting, so no attribute is needed.
        return False

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Keys only: jinja's own lookup hands out str.format before any check.
        return self._lookup(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._lookup(obj, argument)

    def _lookup(self, obj: Any, name: Any) -> Any:
        try:
            return obj[name]
        except (TypeError, LookupError):
            pass
        if isinstance(name, str) and hasattr(obj, name):
            return self.unsafe_undefined(obj, name)
        return self.undefined(obj=obj, name=name)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


def _environment(html: bool) -> _Sandbox:
    environment = _Sandbox(
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        finalize=_blank_none,
        keep_trailing_newline=True,
    )
    environment.globals.clear()
    filters = {name: environment.filters[name] for name in ALLOWED_FILTERS}
    for name, guard in _GUARDS.items():
        filters[name] = guard(filters[name])
    environment.filters.clear()
    environment.filters.update(filters)
    environment.filters[_LOOP_FILTER] = _counted_loop
    return environment


_HTML = _environment(html=True)
_TEXT = _environment(html=False)


@dataclass(frozen=True)
class _Compiled:
    template: jinja2.Template
    placeholders: frozenset[str]


@functools.lru_cache(maxsize=512)
def _compile(source: str, html: bool, where: str) -> _Compiled:
    environment = _HTML if html else _TEXT
    try:
        tree = environment.parse(source)
        _refuse_constructs(tree, where)
        names = frozenset(jinja2.meta.find_undeclared_variables(tree))
        _count_loops(tree)
        template = environment.from_string(tree)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(_syntax_message(where, error)) from None
    except (RecursionError, SyntaxError):
        # SyntaxError: Python's own limit on nested blocks in the generated code.
        raise TemplateError(
            f"{where} is nested too deeply to compile; write fewer nested "
            "parentheses, blocks or filters"
        ) from None
    return _Compiled(template, names)


def _syntax_message(where: str, error: jinja2.TemplateSyntaxError) -> str:
    unknown = re.match(r"No filter named '(.*?)'", error.message or "")
    if unknown:
        return (
            f"{where} uses the filter {unknown.group(1)!r} (line {error.lineno}), "
            f"which content can't use (filters: {', '.join(sorted(ALLOWED_FILTERS))})"
        )
    return f"{where} doesn't parse: {error.message} (line {error.lineno})"


def _refuse_constructs(tree: nodes.Template, where: str) -> None:
    for node in tree.find_all(tuple(_REFUSED_NODES)):
        raise TemplateError(
            f"{where} uses {_REFUSED_NODES[type(node)]} (line {node.lineno}), which "
            "message content can't use; write the text with placeholders, if and for"
        )

    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise TemplateError(
                f"{where} uses a recursive loop (line {loop.lineno}), which message "
                "content can't use"
            )

    for name in tree.find_all(nodes.Name):
        if name.name == "self":
            raise TemplateError(
                f"{where} reads 'self' (line {name.lineno}), which message content "
                "can't use; name a column of the row"
            )


def _count_loops(tree: nodes.Template) -> None:
    """Route every loop's items through the iteration budget."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(
            loop.iter, _LOOP_FILTER, [], [], None, None, lineno=loop.lineno
        )


def template_placeholders(source: str, *, html: bool = True, where: str) -> set[str]:
    """The names a template reads from the row; TemplateError when it can't compile.

    Compiling evaluates nothing the sandbox would refuse at render time, so a
    template that would run away is safe to check.
    """
    return set(_compile(source, html, where).placeholders)


def _describe(activity_type: str, activity_id: str | None, field: str) -> str:
    name = f" {activity_id!r}" if activity_id else ""
    return f"{activity_type}{name} {field}"


def _columns(row: Mapping[str, Any]) -> str:
    names = sorted(str(name) for name in row)
    shown = ", ".join(names[:FIELD_LIMIT])
    more = len(names) - FIELD_LIMIT
    return f"{shown}, … {more} more" if more > 0 else shown


def render_field(
    source: str,
    row: Mapping[str, Any],
    *,
    html: bool,
    where: str = "template",
) -> str:
    """Render one template text for one row.

    Parameters
    ----------
    source
        The template text.
    row
        The recipient's values by column name.
    html
        Escape the values for HTML.
    where
        How error messages name the template, e.g. ``"email 'mail' body"``.

    Raises
    ------
    TemplateError
        When the text doesn't parse, names a value the row lacks, or leaves the
        sandbox.

    Examples
    --------
    >>> render_field("Hi {{ name }}", {"name": "<Ann>"}, html=True)
    'Hi &lt;Ann&gt;'
    """
    compiled = _compile(source, html, where)
    missing = sorted(compiled.placeholders - set(row))
    if missing:
        uses = ", ".join(f"{{{{ {name} }}}}" for name in missing)
        raise TemplateError(
            f"{where} uses {uses}, which the recipient's row has no value for "
            f"(columns: {_columns(row)})"
        )
    spent = _iterations.set([0])
    try:
        return _bounded(compiled.template.generate(row))
    except SecurityError as error:
        raise TemplateError(f"{where} leaves the sandbox: {error}") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{where} reads a missing value: {error}") from None
    except _LimitError as error:
        raise TemplateError(
            f"{where} goes beyond the sandbox's limits: {error}"
        ) from None
    except RecursionError:
        raise TemplateError(f"{where} is nested too deeply to render") from None
    except Exception as error:
        # Filters are library code; whatever they raise is this content's problem.
        raise TemplateError(
            f"{where} can't be rendered for this recipient: {error}"
        ) from None
    finally:
        _iterations.reset(spent)


def _bounded(chunks: Iterator[str]) -> str:
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise _LimitError(f"the text grew past {MAX_OUTPUT} characters")
        parts.append(chunk)
    return "".join(parts)


def render_message(
    activity_type: str,
    settings: Mapping[str, Any],
    row: Mapping[str, Any],
    *,
    activity_id: str | None = None,
    message_id: str = "",
    profile_id: str | None = None,
) -> RenderedMessage:
    """Render a channel activity's content for one recipient.

    Parameters
    ----------
    activity_type
        ``"email"``, ``"sms"`` or ``"push"``.
    settings
        The activity's settings: its content fields (``subject``, ``title``,
        ``body``), ``sender`` and ``address_field``.
    row
        The recipient's values by column name, address included.
    activity_id
        Named in error messages.
    message_id
        Carried by the message, so providers and the outbox can name it.
    profile_id
        The recipient, carried by the message.

    Returns
    -------
    RenderedMessage
        Subject or title, body, address and sender as the recipient sees them.

    Raises
    ------
    TemplateError
        When the channel is unknown, a content field is missing or a template
        can't be rendered for this row.

    Examples
    --------
    >>> message = render_message("sms", {"body": "Hi {{ name }}"}, {"name": "Ann",
    ...     "phone": "+33600000000"})
    >>> message.body, message.address
    ('Hi Ann', '+33600000000')
    """
    if activity_type not in CHANNEL_CONTENT:
        raise TemplateError(
            f"{activity_type!r} is not a channel (channels: "
            f"{', '.join(sorted(CHANNEL_CONTENT))})"
        )
    texts: dict[str, str] = {}
    for field in CHANNEL_CONTENT[activity_type]:
        where = _describe(activity_type, activity_id, field)
        source = settings.get(field)
        if not isinstance(source, str) or not source.strip():
            raise TemplateError(f"{where} is missing: write the message's {field}")
        html = activity_type == "email" and field == "body"
        texts[field] = render_field(source, row, html=html, where=where)

    address_field = settings.get("address_field") or CHANNEL_ADDRESS[activity_type]
    address = row.get(address_field)
    sender = settings.get("sender")
    return RenderedMessage(
        channel=activity_type,
        address="" if address is None else str(address).strip(),
        subject=texts.get("subject", texts.get("title")),
        body=texts["body"],
        message_id=message_id,
        sender=sender if isinstance(sender, str) and sender else None,
        profile_id=profile_id,
    )

"""Rendering a channel activity's content for one recipient, inside a sandbox.

Templates use Jinja placeholders over the recipient's row (``{{ first_name }}``,
``{{ total_spent | round(2) }}``). They run in a sandbox that refuses every attribute
access on values and offers no globals, so a template reaches filters and the row's
values, never Python objects. HTML e-mail bodies escape every value; subjects, SMS and
push texts are plain text and are not escaped.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
import jinja2.meta
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


class _Sandbox(SandboxedEnvironment):
    """A sandbox that also refuses plain attribute access on values."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Rows hold scalars; filters cover formatting, so no attribute is needed.
        return False


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
        template = environment.from_string(tree)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(
            f"{where} doesn't parse: {error.message} (line {error.lineno})"
        ) from None
    names = frozenset(jinja2.meta.find_undeclared_variables(tree))
    return _Compiled(template, names)


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
    try:
        return compiled.template.render(row)
    except SecurityError as error:
        raise TemplateError(f"{where} leaves the sandbox: {error}") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{where} reads a missing value: {error}") from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as error:
        raise TemplateError(
            f"{where} can't be rendered for this recipient: {error}"
        ) from None


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

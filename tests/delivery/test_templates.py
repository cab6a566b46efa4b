"""Rendering content in the sandbox: escaping, refusals and clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from ajo_workbench.delivery.templates import _compile, render_field, render_message
from ajo_workbench.errors import TemplateError, WorkbenchError

ROW: dict[str, Any] = {
    "profile_id": 7,
    "first_name": "<b>Ann & Bob</b>",
    "email": " ann@example.org ",
    "phone": "+33600000000",
    "push_token": "tok-7",
    "total_spent": 12.345,
    "city": None,
}
EMAIL = {
    "subject": "Hello {{ first_name }}",
    "body": "<p>Dear {{ first_name }}, you spent {{ total_spent | round(2) }}</p>",
    "sender": "news@example.org",
}


def test_html_bodies_escape_values_and_subjects_do_not() -> None:
    message = render_message("email", EMAIL, ROW, message_id="m1", profile_id="7")
    assert message.body == (
        "<p>Dear &lt;b&gt;Ann &amp; Bob&lt;/b&gt;, you spent 12.35</p>"
    )
    assert message.subject == "Hello <b>Ann & Bob</b>"
    assert message.address == "ann@example.org"
    assert message.sender == "news@example.org"
    assert (message.message_id, message.profile_id, message.html) == ("m1", "7", True)


def test_sms_and_push_are_plain_text() -> None:
    sms = render_message("sms", {"body": "Hi {{ first_name }}!"}, ROW)
    assert sms.body == "Hi <b>Ann & Bob</b>!"
    assert (sms.subject, sms.address, sms.html) == (None, "+33600000000", False)
    push = render_message(
        "push", {"title": "For {{ first_name }}", "body": "{{ total_spent }}"}, ROW
    )
    assert (push.subject, push.body, push.address) == (
        "For <b>Ann & Bob</b>",
        "12.345",
        "tok-7",
    )


def test_address_field_and_nulls() -> None:
    settings = {"body": "[{{ city }}]", "address_field": "push_token"}
    message = render_message("sms", settings, ROW)
    assert (message.body, message.address) == ("[]", "tok-7")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ first_name.upper() }}",
        "{{ first_name | attr('__class__') }}",
        "{{ first_name['__class__'] }}",
        "{{ total_spent.real }}",
    ],
)
def test_templates_cannot_reach_python_objects(source: str) -> None:
    with pytest.raises(TemplateError, match=r"sms 'text' body leaves the sandbox"):
        render_message("sms", {"body": source}, ROW, activity_id="text")


@pytest.mark.parametrize("source", ["{{ range(3) }}", "{{ lipsum() }}", "{{ cycler }}"])
def test_templates_have_no_globals(source: str) -> None:
    with pytest.raises(TemplateError, match="has no value for"):
        render_message("sms", {"body": source}, ROW, activity_id="text")


def test_a_missing_placeholder_names_activity_field_and_placeholder() -> None:
    settings = {**EMAIL, "body": "<p>{{ first_nme }} from {{ country }}</p>"}
    with pytest.raises(TemplateError) as caught:
        render_message("email", settings, ROW, activity_id="mail")
    message = str(caught.value)
    assert message.startswith(
        "email 'mail' body uses {{ country }}, {{ first_nme }}, which the "
        "recipient's row has no value for (columns: city, email, first_name"
    )
    assert isinstance(caught.value, WorkbenchError)
    assert isinstance(caught.value, ValueError)


def test_syntax_errors_and_missing_content() -> None:
    with pytest.raises(TemplateError, match=r"push 'p' title doesn't parse: .*line 1"):
        render_message("push", {"title": "{% if %}", "body": "x"}, ROW, activity_id="p")
    with pytest.raises(TemplateError, match="email 'mail' subject is missing"):
        render_message("email", {"body": "x"}, ROW, activity_id="mail")
    with pytest.raises(TemplateError, match=r"'fax' is not a channel \(channels: "):
        render_message("fax", {"body": "x"}, ROW)


def test_a_value_the_template_cannot_use_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="can't be rendered for this recipient"):
        render_field("{{ first_name | round(2) }}", ROW, html=False, where="sms body")


def test_each_template_text_is_compiled_once() -> None:
    _compile.cache_clear()
    for profile in range(5):
        render_message("sms", {"body": "Hi {{ n }}"}, {"n": profile, "phone": "1"})
    info = _compile.cache_info()
    assert (info.misses, info.hits) == (1, 4)

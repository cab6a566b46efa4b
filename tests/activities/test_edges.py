"""Edge cases of build audiences and channels, run through the engine."""

from __future__ import annotations

from typing import Any

import polars as pl

import ajo_workbench as ajo

END = {"id": "end", "type": "end"}
NOBODY = {"id": "nobody", "type": "build_audience", "where": "loyalty_tier = 'diamond'"}


def test_an_empty_audience_flows_on_by_default(
    workspace: ajo.Workspace, chain: Any
) -> None:
    follow = {"id": "follow", "type": "build_audience", "where": "country = 'FR'"}
    run = workspace.load_campaign(chain(NOBODY, follow, END)).start().wait(60)
    assert run.state == "finished"
    assert run.count("t1") == 0
    assert run.task_status("follow") == "success"


def test_emit_when_empty_false_ends_the_branch(
    workspace: ajo.Workspace, chain: Any
) -> None:
    follow = {"id": "follow", "type": "build_audience", "where": "country = 'FR'"}
    nobody = dict(NOBODY, emit_when_empty=False)
    run = workspace.load_campaign(chain(nobody, follow, END)).start().wait(60)
    assert run.state == "finished"
    assert run.task_status("nobody") == "success"
    assert run.count("t1") == 0
    assert run.task_status("follow") == "not_run"
    assert run.task_status("end") == "not_run"
    messages = run.logs.filter(pl.col("activity_id") == "nobody")["message"]
    assert "out is empty: this branch ends here" in messages.to_list()

    some = dict(nobody, where="country = 'FR'")
    run = workspace.load_campaign(chain(some, follow, END)).start().wait(60)
    assert run.task_status("follow") == "success"


def channel_run(
    workspace: ajo.Workspace, chain: Any, **settings: Any
) -> tuple[int, pl.DataFrame]:
    audience = {"id": "fr", "type": "build_audience", "where": "country = 'FR'"}
    sms = {"id": "text", "type": "sms", "body": "Hello", **settings}
    run = workspace.load_campaign(chain(audience, sms, END)).start().wait(60)
    assert run.state == "finished", run.error
    profiles = workspace.table("profiles").filter(pl.col("country") == "FR")
    return run.count("t2"), profiles


def test_marketing_messages_need_consent_transactional_ones_do_not(
    workspace: ajo.Workspace, chain: Any
) -> None:
    marketing, profiles = channel_run(workspace, chain)
    transactional, _ = channel_run(workspace, chain, category="transactional")
    with_phone = profiles.filter(pl.col("phone").is_not_null())
    assert transactional == with_phone.height
    assert marketing == with_phone.filter(pl.col("sms_consent")).height
    assert marketing < transactional


def test_address_field_names_the_column_to_reach(
    workspace: ajo.Workspace, chain: Any
) -> None:
    count, profiles = channel_run(workspace, chain, address_field="email")
    reachable = profiles.filter(pl.col("email").is_not_null() & pl.col("sms_consent"))
    assert count == reachable.height

"""The lifecycle matrix: every status and every action, table-driven."""

from __future__ import annotations

import pytest

from ajo_workbench.errors import LifecycleError
from ajo_workbench.lifecycle import USER_ACTIONS, CampaignStatus, Facts, Lifecycle

STATUSES = [s for s in CampaignStatus if s is not CampaignStatus.DELETED]
IDLE = Facts()

# Written from SPEC §6 with idle facts: no execution, no errors, not recurring.
ALLOWED_WHEN_IDLE = {
    "start": {"draft"},
    "stop": set(),
    "restart": {"draft"},
    "pause": set(),
    "resume": set(),
    "publish": {"draft"},
    "back_to_draft": {"scheduled"},
    "confirm_send": set(),
    "close": set(),
    "stop_campaign": {"scheduled", "live", "closed"},
    "archive": {"scheduled", "live", "closed", "completed", "stopped"},
    "duplicate": {s.value for s in STATUSES},
    "delete": {"draft"},
}
RESULT = {
    "publish": "live",
    "back_to_draft": "draft",
    "stop_campaign": "stopped",
    "archive": "archived",
    "delete": "deleted",
}


def test_the_matrix_covers_every_user_action() -> None:
    assert set(ALLOWED_WHEN_IDLE) == set(USER_ACTIONS)


@pytest.mark.parametrize("status", STATUSES, ids=str)
@pytest.mark.parametrize("action", sorted(ALLOWED_WHEN_IDLE))
def test_matrix(status: CampaignStatus, action: str) -> None:
    lifecycle = Lifecycle(status)
    allowed = status.value in ALLOWED_WHEN_IDLE[action]

    if not allowed:
        with pytest.raises(LifecycleError) as refused:
            lifecycle.apply(action, IDLE)
        assert refused.value.reason
        assert refused.value.action == action
        assert lifecycle.status is status
        return

    moved = lifecycle.apply(action, IDLE)
    assert moved.value == RESULT.get(action, status.value)


def test_start_refused_while_a_test_runs() -> None:
    lifecycle = Lifecycle("draft")
    with pytest.raises(LifecycleError, match=r"already running.*Restart"):
        lifecycle.apply("start", Facts(test_state="running"))


def test_errors_block_start_and_publish() -> None:
    facts = Facts(validation_errors=2)
    for action in ("start", "publish", "restart"):
        with pytest.raises(LifecycleError, match="2 error"):
            Lifecycle("draft").apply(action, facts)


def test_publish_with_a_future_start_schedules() -> None:
    assert Lifecycle("draft").apply("publish", Facts(future_start=True)) == "scheduled"


def test_pause_needs_a_running_or_waiting_execution() -> None:
    assert Lifecycle("draft").refusal("pause", Facts(test_state="waiting")) is None
    assert Lifecycle("live").refusal("pause", Facts(live_state="running")) is None
    reason = Lifecycle("draft").refusal("pause", Facts(test_state="finished"))
    assert reason == (
        "pause needs a running or waiting test execution (last one: finished)"
    )


def test_stop_and_resume_of_a_test() -> None:
    assert Lifecycle("draft").refusal("stop", Facts(test_state="paused")) is None
    assert Lifecycle("draft").refusal("resume", Facts(test_state="paused")) is None
    assert "paused" in (Lifecycle("draft").refusal("resume", IDLE) or "")


def test_back_to_draft_guards() -> None:
    scheduled = Lifecycle("scheduled")
    assert "already ran" in (
        scheduled.refusal("back_to_draft", Facts(occurrences=1)) or ""
    )
    live = Lifecycle("live")
    paused = Facts(live_state="paused", live_paused_on_error=True)
    assert live.refusal("back_to_draft", paused) is None
    sent = Facts(live_state="paused", live_paused_on_error=True, sent_anything=True)
    assert "already sent" in (live.refusal("back_to_draft", sent) or "")
    assert live.refusal("back_to_draft", Facts(recurring=True)) is None  # none ran
    ran = Facts(recurring=True, occurrences=1, live_state="finished")
    assert "paused on an error" in (live.refusal("back_to_draft", ran) or "")


def test_close_needs_a_recurring_campaign_then_completes() -> None:
    lifecycle = Lifecycle("live")
    assert "recurring" in (lifecycle.refusal("close", IDLE) or "")
    assert lifecycle.apply("close", Facts(recurring=True)) == "closed"
    assert lifecycle.refusal("complete", Facts(live_state="running"))
    assert lifecycle.apply("complete", IDLE) == "completed"


def test_confirm_send_names_the_waiting_activities() -> None:
    facts = Facts(awaiting_confirmation=("mail",), activity_id="sms")
    reason = Lifecycle("live").refusal("confirm_send", facts)
    assert reason is not None and "waiting: mail" in reason
    assert (
        Lifecycle("live").refusal(
            "confirm_send", Facts(awaiting_confirmation=("mail",), activity_id="mail")
        )
        is None
    )


def test_refusal_names_the_statuses_that_allow_it() -> None:
    reason = Lifecycle("archived").refusal("delete", IDLE)
    assert reason == "the campaign is archived; delete needs: draft"


def test_unknown_action() -> None:
    with pytest.raises(ValueError, match="unknown action 'launch'"):
        Lifecycle("draft").refusal("launch", IDLE)

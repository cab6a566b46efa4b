"""The campaign lifecycle (SPEC §6) as a table driven by a `transitions` machine.

Each row of :data:`RULES` reads: action, the statuses it starts from, the status it
leads to, and a guard. A guard returns ``None`` when the action is allowed, or a
sentence saying why not and what would make it allowed. The same guards feed the
state machine's conditions, the refusal messages and the workbench's buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transitions import Machine

from ajo_workbench.errors import LifecycleError


class CampaignStatus(StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    LIVE = "live"
    CLOSED = "closed"
    COMPLETED = "completed"
    STOPPED = "stopped"
    ARCHIVED = "archived"
    DELETED = "deleted"


@dataclass(frozen=True)
class Facts:
    """What the guards need to know about a campaign at the time of an action."""

    test_state: str | None = None
    validation_errors: int = 0
    validation_messages: tuple[str, ...] = ()
    recurring: bool = False
    future_start: bool = False
    occurrences: int = 0
    live_state: str | None = None
    live_paused_on_error: bool = False
    sent_anything: bool = False
    awaiting_confirmation: tuple[str, ...] = ()
    activity_id: str | None = None


Guard = Callable[[Facts], str | None]
ACTIVE_TEST = ("running", "waiting", "paused")


def always(facts: Facts) -> str | None:
    """No condition beyond the status."""
    return None


def can_start(facts: Facts) -> str | None:
    if facts.test_state in ACTIVE_TEST:
        return (
            f"a test execution is already {facts.test_state}; stop it or wait for "
            "it to end, or use Restart"
        )
    return no_errors(facts)


def no_errors(facts: Facts) -> str | None:
    if facts.validation_errors:
        listed = "".join(f"\n  - {m}" for m in facts.validation_messages)
        return (
            f"validation found {facts.validation_errors} error(s); fix them "
            f"(see campaign.alerts) first{listed}"
        )
    return None


def test_active(facts: Facts) -> str | None:
    if facts.test_state not in ACTIVE_TEST:
        state = facts.test_state or "never started"
        return f"no test execution is running or paused (last one: {state})"
    return None


def test_pausable(facts: Facts) -> str | None:
    if facts.test_state not in ("running", "waiting"):
        state = facts.test_state or "never started"
        return f"pause needs a running or waiting test execution (last one: {state})"
    return None


def live_pausable(facts: Facts) -> str | None:
    if facts.live_state not in ("running", "waiting"):
        state = facts.live_state or "none"
        return f"pause needs a running or waiting live execution (current: {state})"
    return None


def test_paused(facts: Facts) -> str | None:
    if facts.test_state != "paused":
        state = facts.test_state or "never started"
        return f"resume needs a paused test execution (last one: {state})"
    return None


def live_paused(facts: Facts) -> str | None:
    if facts.live_state != "paused":
        state = facts.live_state or "none"
        return f"resume needs a paused live execution (current: {state})"
    return None


def publish_now(facts: Facts) -> str | None:
    return no_errors(facts) or (
        "the schedule starts later" if facts.future_start else None
    )


def publish_later(facts: Facts) -> str | None:
    return no_errors(facts) or (None if facts.future_start else "the schedule is due")


def before_first_occurrence(facts: Facts) -> str | None:
    if facts.occurrences:
        return (
            f"{facts.occurrences} execution(s) already ran; stop the campaign and "
            "duplicate it to change it"
        )
    return None


def paused_before_sending(facts: Facts) -> str | None:
    if facts.recurring and not facts.occurrences and facts.live_state is None:
        return None  # live, but its first occurrence has not come
    if not facts.live_paused_on_error:
        return (
            "back to draft needs a live execution paused on an error (or no "
            "execution yet); use Stop campaign, then Duplicate"
        )
    if facts.sent_anything:
        return "messages were already sent; stop the campaign and duplicate it"
    return None


def awaiting_confirmation(facts: Facts) -> str | None:
    waiting = facts.awaiting_confirmation
    if not waiting:
        return "no channel activity is waiting for confirmation"
    if facts.activity_id is not None and facts.activity_id not in waiting:
        return (
            f"activity {facts.activity_id!r} is not waiting for confirmation "
            f"(waiting: {', '.join(waiting)})"
        )
    return None


def recurring(facts: Facts) -> str | None:
    if not facts.recurring:
        return "only a recurring campaign can be closed; use Stop campaign instead"
    return None


def no_live_execution(facts: Facts) -> str | None:
    if facts.live_state in ACTIVE_TEST:
        return f"an execution is still {facts.live_state}"
    return None


def no_test_running(facts: Facts) -> str | None:
    if facts.test_state in ACTIVE_TEST:
        return f"a test execution is {facts.test_state}; stop it first"
    return None


S = CampaignStatus
EVERY = tuple(s for s in CampaignStatus if s is not S.DELETED)
RUNNING_STATUSES = (S.SCHEDULED, S.LIVE, S.CLOSED)

RULES: list[tuple[str, tuple[CampaignStatus, ...], CampaignStatus | None, Guard]] = [
    # action          from                      to             guard
    ("start", (S.DRAFT,), None, can_start),
    ("stop", (S.DRAFT,), None, test_active),
    ("restart", (S.DRAFT,), None, no_errors),
    ("pause", (S.DRAFT,), None, test_pausable),
    ("pause", (S.LIVE, S.CLOSED), None, live_pausable),
    ("resume", (S.DRAFT,), None, test_paused),
    ("resume", (S.LIVE, S.CLOSED), None, live_paused),
    ("publish", (S.DRAFT,), S.LIVE, publish_now),
    ("publish", (S.DRAFT,), S.SCHEDULED, publish_later),
    ("back_to_draft", (S.SCHEDULED,), S.DRAFT, before_first_occurrence),
    ("back_to_draft", (S.LIVE,), S.DRAFT, paused_before_sending),
    ("confirm_send", (S.LIVE, S.CLOSED), None, awaiting_confirmation),
    ("activate", (S.SCHEDULED,), S.LIVE, always),
    ("close", (S.LIVE, S.SCHEDULED), S.CLOSED, recurring),
    ("complete", (S.LIVE, S.CLOSED), S.COMPLETED, no_live_execution),
    ("stop_campaign", RUNNING_STATUSES, S.STOPPED, always),
    (
        "archive",
        tuple(s for s in EVERY if s not in (S.DRAFT, S.ARCHIVED)),
        S.ARCHIVED,
        always,
    ),
    ("duplicate", EVERY, None, always),
    ("delete", (S.DRAFT,), S.DELETED, no_test_running),
]
"""The lifecycle, one row per (action, from, to, guard); ``None`` keeps the status."""

ACTIONS = tuple(dict.fromkeys(action for action, *_ in RULES))
USER_ACTIONS = tuple(a for a in ACTIONS if a not in ("activate", "complete"))


class Lifecycle:
    """A campaign's status and the actions that move it."""

    def __init__(self, status: str | CampaignStatus = CampaignStatus.DRAFT) -> None:
        self.state: str = CampaignStatus(status).value
        rows = []
        for action, sources, target, guard in RULES:
            for source in sources:
                rows.append(
                    {
                        "trigger": action,
                        "source": source.value,
                        "dest": (target or source).value,
                        "conditions": [_condition(guard)],
                    }
                )
        self._machine = Machine(
            model=self,
            states=[s.value for s in CampaignStatus],
            transitions=rows,
            initial=self.state,
            auto_transitions=False,
            send_event=True,
            model_attribute="state",
        )

    @property
    def status(self) -> CampaignStatus:
        """The current status."""
        return CampaignStatus(self.state)

    def refusal(self, action: str, facts: Facts) -> str | None:
        """Why an action is refused now, or None when it is allowed."""
        if action not in ACTIONS:
            raise ValueError(
                f"unknown action {action!r} (actions: {', '.join(ACTIONS)})"
            )
        rows = [r for r in RULES if r[0] == action and self.status in r[1]]
        if not rows:
            allowed = sorted({s.value for r in RULES if r[0] == action for s in r[1]})
            return f"the campaign is {self.state}; {action} needs: {', '.join(allowed)}"
        reasons = [guard(facts) for _, _, _, guard in rows]
        if any(reason is None for reason in reasons):
            return None
        return "; or ".join(dict.fromkeys(r for r in reasons if r))

    def apply(self, action: str, facts: Facts) -> CampaignStatus:
        """Perform an action; raises LifecycleError saying why when refused."""
        reason = self.refusal(action, facts)
        if reason is not None:
            raise LifecycleError(action, self.state, reason)
        moved = self._machine.events[action].trigger(self, facts=facts)
        if not moved:
            raise LifecycleError(action, self.state, "its guard refused it")
        return self.status

    def available(self, facts: Facts) -> dict[str, str | None]:
        """Every user action with None (allowed) or the reason it is refused."""
        return {action: self.refusal(action, facts) for action in USER_ACTIONS}


def _condition(guard: Guard) -> Callable[[Any], bool]:
    def condition(event: Any) -> bool:
        return guard(event.kwargs["facts"]) is None

    return condition

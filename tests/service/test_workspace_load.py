"""10,000 mixed requests, 50 at a time, against a served workspace.

Twenty live signal-triggered campaigns take signals at most once an hour, so of all
the valid signals exactly one per campaign is accepted; every other request is
refused. Each accepted signal must start exactly one execution, and a refused one
must leave nothing behind but a log line.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from typing import Any

import httpx
import polars as pl
from fake_target import in_own_thread

import ajo_workbench as ajo
from ajo_workbench.service import start_in_thread

REQUESTS = 10_000
CONCURRENCY = 50
CAMPAIGNS = [f"signal-{n:02d}" for n in range(20)]
TOKEN = "load-test-token-0123456789abcdef"
GOOD = {"Authorization": f"Bearer {TOKEN}"}


def campaign(campaign_id: str) -> dict[str, Any]:
    return {
        "format": "ajo-workbench/campaign@1",
        "id": campaign_id,
        "name": campaign_id,
        "schedule": {
            "type": "signal",
            "parameters": [{"name": "n", "type": "int", "test_value": 0}],
        },
        "settings": {"send_confirmation": False},
        "activities": [
            {"id": "few", "type": "build_audience", "where": "profile_id <= 3"},
            {
                "id": "mail",
                "type": "email",
                "subject": "Signal {{ n }}",
                "body": "<p>{{ first_name }}</p>",
                "sender": "shop@example.test",
            },
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "few", "to": "mail"},
            {"id": "t2", "from": "mail", "to": "end"},
        ],
    }


def request(kind: str, n: int, rng: random.Random) -> tuple[str, dict[str, str], bytes]:
    target = rng.choice(CAMPAIGNS)
    body = json.dumps({"variables": {"n": n}}).encode()
    if kind == "no-token":
        return target, {}, body
    if kind == "wrong-token":
        return target, {"Authorization": "Bearer " + TOKEN[::-1]}, body
    if kind == "malformed":
        return target, GOOD, body[:-2]
    if kind == "bad-variable":
        return target, GOOD, json.dumps({"variables": {"n": "many"}}).encode()
    if kind == "unknown":
        return "no-such-campaign", GOOD, body
    if kind == "draft":
        return "drafted", GOOD, body
    return target, GOOD, body


EXPECTED = {
    "no-token": {401},
    "wrong-token": {403},
    "malformed": {400},
    "bad-variable": {400},
    "unknown": {404},
    "draft": {400},
    "valid": {200, 429},
}


def test_ten_thousand_requests_start_exactly_one_execution_per_accepted_signal(
    workspace: ajo.Workspace,
) -> None:
    for campaign_id in CAMPAIGNS:
        assert workspace.load_campaign(campaign(campaign_id)).publish() is None
    workspace.load_campaign(campaign("drafted"))
    rng = random.Random(20261204)
    kinds = rng.choices(list(EXPECTED), weights=[1, 1, 1, 1, 1, 1, 6], k=REQUESTS)
    plan = [(kind, *request(kind, n, rng)) for n, kind in enumerate(kinds)]

    with start_in_thread(workspace, TOKEN) as service:
        answers = in_own_thread(
            lambda: asyncio.run(asyncio.wait_for(fire(service.url, plan), timeout=600))
        )

    wrong = [
        (kind, status)
        for (kind, *_), (status, _) in zip(plan, answers, strict=True)
        if status not in EXPECTED[kind]
    ]
    assert wrong == []
    accepted = [
        (target, body["execution_id"])
        for (_, target, _, _), (status, body) in zip(plan, answers, strict=True)
        if status == 200
    ]
    # Exactly one accepted signal per campaign: the others came within the hour.
    assert sorted(target for target, _ in accepted) == CAMPAIGNS
    throttled = [s for s, _ in answers if s == 429]
    assert len(throttled) == kinds.count("valid") - len(CAMPAIGNS)

    for target, execution_id in accepted:
        records = workspace.journal.executions(target)
        assert [r["id"] for r in records] == [execution_id]
        workspace.running[execution_id].wait(120)
        assert workspace.running[execution_id].state == "finished"
    for refused in ("drafted", "no-such-campaign"):
        assert workspace.journal.executions(refused) == []
    signals = workspace.database.query("SELECT campaign_id FROM signals")
    assert Counter(row["campaign_id"] for row in signals) == Counter(CAMPAIGNS)
    events = workspace.feedback_events
    assert events.height == 3 * len(CAMPAIGNS)  # three profiles per execution
    assert events.group_by("execution_id").len()["len"].to_list() == [3] * 20
    # A throttled signal leaves one log line, nothing else.
    logged = workspace.journal.logs().filter(
        pl.col("message").str.starts_with("signal throttled")
    )
    assert logged.height == len(throttled)


async def fire(
    url: str, plan: list[tuple[str, str, dict[str, str], bytes]]
) -> list[tuple[int, Any]]:
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:

        async def one(target: str, headers: dict[str, str], body: bytes) -> Any:
            async with gate:
                answer = await http.post(
                    f"/campaigns/{target}/trigger", content=body, headers=headers
                )
            return answer.status_code, answer.json()

        return await asyncio.gather(*(one(t, h, b) for _, t, h, b in plan))

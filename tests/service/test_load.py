"""A bounded load on a real server: mixed valid and invalid signals, 50 at a time."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from typing import Any

import httpx
from fake_target import LIVE, TOKEN, FakeTarget, in_own_thread

from ajo_workbench.service import ServiceHandle

REQUESTS = 2_000
CONCURRENCY = 50
TRIGGER = f"/campaigns/{LIVE}/trigger"
GOOD = {"Authorization": f"Bearer {TOKEN}"}

# kind -> (headers, body for request number n, expected status)
KINDS: dict[str, tuple[dict[str, str], Any, int]] = {
    "valid": (GOOD, lambda n: json.dumps({"variables": {"n": n}}).encode(), 200),
    "no-token": ({}, lambda n: json.dumps({"variables": {"n": n}}).encode(), 401),
    "garbled": (
        {"Authorization": f"Token {TOKEN}"},
        lambda n: json.dumps({"variables": {"n": n}}).encode(),
        401,
    ),
    "wrong-token": (
        {"Authorization": "Bearer not-the-token"},
        lambda n: json.dumps({"variables": {"n": n}}).encode(),
        403,
    ),
    "malformed": (GOOD, lambda n: b'{"variables": {"n": ' + str(n).encode(), 400),
    "shape": (GOOD, lambda n: json.dumps({"variables": {"n": [n]}}).encode(), 400),
    "unknown-key": (GOOD, lambda n: json.dumps({"n": n}).encode(), 400),
    "oversized": (
        GOOD,
        lambda n: json.dumps({"variables": {"n": n, "pad": "x" * 5000}}).encode(),
        413,
    ),
}


def test_every_valid_signal_reaches_the_target_once_and_no_invalid_one_does(
    service: ServiceHandle, target: FakeTarget
) -> None:
    plan = random.Random(20261204).choices(
        list(KINDS), weights=[4, 1, 1, 1, 1, 1, 1, 1], k=REQUESTS
    )
    statuses = in_own_thread(
        lambda: asyncio.run(asyncio.wait_for(_fire(service.url, plan), timeout=120))
    )

    expected = [KINDS[kind][2] for kind in plan]
    mismatches = [
        (n, plan[n], got, want)
        for n, (got, want) in enumerate(zip(statuses, expected, strict=True))
        if got != want
    ]
    assert mismatches == []

    valid = {n for n, kind in enumerate(plan) if kind == "valid"}
    received = Counter(variables["n"] for _, variables in target.calls)
    assert set(received) == valid
    assert set(received.values()) == {1}
    assert all(campaign == LIVE for campaign, _ in target.calls)
    assert len(valid) > REQUESTS // 3


async def _fire(url: str, plan: list[str]) -> list[int]:
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:

        async def one(n: int, kind: str) -> int:
            headers, body, _ = KINDS[kind]
            async with gate:
                answer = await http.post(TRIGGER, content=body(n), headers=headers)
            if answer.status_code == 200:
                assert answer.json()["campaign_id"] == LIVE
            return answer.status_code

        return await asyncio.gather(*(one(n, kind) for n, kind in enumerate(plan)))

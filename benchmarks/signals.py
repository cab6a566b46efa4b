"""Signal API throughput: accepted signals per second and latency percentiles.

Usage::

    python benchmarks/signals.py --requests 5000 --concurrency 50
    python benchmarks/signals.py --client httpx
    python benchmarks/signals.py --workspace --requests 300 --concurrency 10

Starts the signal service (``serve``) in a subprocess on a free port of 127.0.0.1
with a target that accepts every signal in memory, then fires ``--requests``
authorised triggers from ``--concurrency`` keep-alive connections. Prints accepted
signals per second and the p50/p99 latency of one request.

Two clients: ``raw`` (default) writes each request in one piece on an asyncio stream
and reads the answer by its Content-Length, so it costs the server's side little
CPU; ``httpx`` uses ``httpx.AsyncClient``, which spends more CPU per request than
the server does. Both run on this machine, sharing its cores with the server.

``--workspace`` serves a real workspace instead (2,000 sample profiles, a live
signal-triggered campaign without a minimum interval that mails three profiles to
the outbox): every accepted signal records itself, snapshots the profiles and
starts a live execution; the run then waits for every execution to finish and
checks there is exactly one per accepted signal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

TOKEN = "benchmark-token"
CAMPAIGN = "spring-sale"


class AcceptingTarget:
    """Starts nothing: hands out execution ids, as fast as a target can be."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def trigger(self, campaign_id: str, variables: dict[str, Any]) -> str:
        with self._lock:
            self.count += 1
            return f"execution-{self.count}"


SIGNALLED = {
    "format": "ajo-workbench/campaign@1",
    "id": CAMPAIGN,
    "name": "Signalled",
    "schedule": {
        "type": "signal",
        "min_interval": "PT0S",
        "parameters": [
            {"name": "n", "type": "int", "test_value": 0},
            {"name": "coupon", "type": "string", "test_value": "TEST"},
        ],
    },
    "settings": {"send_confirmation": False},
    "activities": [
        {"id": "few", "type": "build_audience", "where": "profile_id <= 3"},
        {
            "id": "mail",
            "type": "email",
            "subject": "Your coupon {{ coupon }}",
            "body": "<p>Signal {{ n }}</p>",
            "sender": "shop@example.test",
        },
        {"id": "end", "type": "end"},
    ],
    "transitions": [
        {"id": "t1", "from": "few", "to": "mail"},
        {"id": "t2", "from": "mail", "to": "end"},
    ],
}


def run_server(folder: str | None) -> None:
    """The subprocess side: serve until SIGTERM."""
    import logging

    from ajo_workbench.service import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.getLogger("ajo_workbench.service.api").setLevel(logging.WARNING)
    if folder is None:
        serve(AcceptingTarget(), TOKEN, port=0)
        return
    from ajo_workbench import Workspace

    workspace = Workspace(folder)
    workspace.generate_sample_data(profiles=2_000, seed=7)
    workspace.load_campaign(SIGNALLED).publish()
    for quiet in ("storage", "engine", "workspace", "delivery"):
        logging.getLogger(f"ajo_workbench.{quiet}").setLevel(logging.WARNING)
    serve(workspace, TOKEN, port=0)


def check_workspace(folder: str, accepted: int) -> None:
    """Wait for every execution; exactly one per accepted signal, all finished."""
    from ajo_workbench import Workspace

    workspace = Workspace(folder)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        rows = workspace.journal.executions(CAMPAIGN)
        if len(rows) >= accepted and all(r["state"] == "finished" for r in rows):
            break
        time.sleep(0.5)
    rows = workspace.journal.executions(CAMPAIGN)
    states = {r["state"] for r in rows}
    print(f"  {len(rows)} executions for {accepted} accepted signals; states {states}")
    assert len(rows) == accepted, "not one execution per accepted signal"
    assert states == {"finished"}, "not every execution finished"


def start_server(folder: str | None) -> tuple[subprocess.Popen[str], str]:
    extra = [] if folder is None else ["--folder", folder]
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", *extra],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, found.group(1)
    process.kill()
    raise SystemExit("the signal service did not start")


def body(n: int) -> bytes:
    return json.dumps({"variables": {"n": n, "coupon": "SPRING"}}).encode()


async def raw_client(host: str, port: int, numbers: list[int]) -> list[float]:
    """One keep-alive connection sending its requests one after the other."""
    reader, writer = await asyncio.open_connection(host, port)
    latencies: list[float] = []
    for n in numbers:
        payload = body(n)
        request = (
            f"POST /campaigns/{CAMPAIGN}/trigger HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        started = time.perf_counter()
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        assert length is not None, head
        answer = await reader.readexactly(int(length.group(1)))
        latencies.append(time.perf_counter() - started)
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"refused: {head!r} {answer!r}")
    writer.close()
    await writer.wait_closed()
    return latencies


async def httpx_client(url: str, numbers: list[int], http: Any) -> list[float]:
    latencies: list[float] = []
    for n in numbers:
        started = time.perf_counter()
        answer = await http.post(
            f"/campaigns/{CAMPAIGN}/trigger",
            content=body(n),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"refused: {answer.status_code} {answer.text}")
    return latencies


async def fire(url: str, requests: int, concurrency: int, client: str) -> float:
    """Send every request; prints the results and returns the elapsed seconds."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    shares = [list(range(i, requests, concurrency)) for i in range(concurrency)]
    started = time.perf_counter()
    if client == "raw":
        results = await asyncio.gather(
            *(raw_client(host, int(port), share) for share in shares)
        )
    else:
        import httpx

        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
            results = await asyncio.gather(
                *(httpx_client(url, share, http) for share in shares)
            )
    elapsed = time.perf_counter() - started

    latencies = sorted(latency for result in results for latency in result)
    assert len(latencies) == requests
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"{client:>5} client, {requests} signals, {concurrency} connections: "
        f"{requests / elapsed:,.0f} accepted/s, "
        f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--client", choices=["raw", "httpx", "both"], default="both")
    parser.add_argument(
        "--workspace", action="store_true", help="serve a real workspace"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        run_server(options.folder)
        return

    with tempfile.TemporaryDirectory() as scratch:
        folder = f"{scratch}/ws" if options.workspace else None
        process, url = start_server(folder)
        try:
            clients = ["raw", "httpx"] if options.client == "both" else [options.client]
            fired = 0
            for client in clients:
                asyncio.run(fire(url, options.requests, options.concurrency, client))
                fired += options.requests
            if folder is not None:
                check_workspace(folder, fired)
        finally:
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()

"""Signal API throughput: accepted signals per second and latency percentiles.

Usage::

    python benchmarks/signals.py --requests 5000 --concurrency 50
    python benchmarks/signals.py --client httpx

Starts the signal service (``serve``) in a subprocess on a free port of 127.0.0.1
with a target that accepts every signal in memory, then fires ``--requests``
authorised triggers from ``--concurrency`` keep-alive connections. Prints accepted
signals per second and the p50/p99 latency of one request.

Two clients: ``raw`` (default) writes each request in one piece on an asyncio stream
and reads the answer by its Content-Length, so it costs the server's side little
CPU; ``httpx`` uses ``httpx.AsyncClient``, which spends more CPU per request than
the server does. Both run on this machine, sharing its cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
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


def run_server() -> None:
    """The subprocess side: serve until SIGTERM."""
    import logging

    from ajo_workbench.service import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    logging.getLogger("ajo_workbench.service.api").setLevel(logging.WARNING)
    serve(AcceptingTarget(), TOKEN, port=0)


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 30
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
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        run_server()
        return

    process, url = start_server()
    try:
        clients = ["raw", "httpx"] if options.client == "both" else [options.client]
        for client in clients:
            asyncio.run(fire(url, options.requests, options.concurrency, client))
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()

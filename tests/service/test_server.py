"""Running the signal API: addresses, ports, ticking, stopping, and signals."""

from __future__ import annotations

import inspect
import itertools
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fake_target import LIVE, FakeTarget

from ajo_workbench.errors import ServiceError
from ajo_workbench.service import DEFAULT_HOST, serve, start_in_thread

PROCESS = Path(__file__).with_name("serve_process.py")


def test_both_bind_127_0_0_1_by_default() -> None:
    assert DEFAULT_HOST == "127.0.0.1"
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(start_in_thread).parameters["host"].default == DEFAULT_HOST
    assert inspect.signature(serve).parameters["port"].default == 8787


def test_the_thread_server_listens_on_127_0_0_1_only() -> None:
    with start_in_thread(FakeTarget(), "tok") as service:
        assert service.host == "127.0.0.1"
        assert service.url == f"http://127.0.0.1:{service.port}"
        assert service.port > 0
        assert httpx.get(f"{service.url}/health").status_code == 200
        # Another loopback address of this machine: nothing listens there.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{service.port}/health", timeout=2)


def test_ipv6_loopback_can_be_asked_for() -> None:
    if not socket.has_ipv6:
        pytest.skip("this machine has no IPv6")
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("::1 is not configured on this machine")
    with start_in_thread(FakeTarget(), "tok", host="::1") as service:
        assert service.url == f"http://[::1]:{service.port}"
        assert httpx.get(f"{service.url}/health").status_code == 200


def test_stop_closes_the_port() -> None:
    service = start_in_thread(FakeTarget(), "tok")
    assert service.running
    service.stop()
    assert not service.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{service.url}/health", timeout=2)
    assert "stopped" in repr(service)


def test_a_port_in_use_is_a_service_error() -> None:
    with start_in_thread(FakeTarget(), "tok") as service:
        with pytest.raises(
            ServiceError, match=rf"can't listen on 127\.0\.0\.1:{service.port}: "
        ):
            start_in_thread(FakeTarget(), "tok", port=service.port)
        assert httpx.get(f"{service.url}/health").status_code == 200


@pytest.mark.parametrize("port", [-1, 65536, 3.5])
def test_a_bad_port_is_a_service_error(port: int) -> None:
    with pytest.raises(ServiceError, match="port must be a number from 0 to 65535"):
        start_in_thread(FakeTarget(), "tok", port=port)


def test_an_unknown_host_is_a_service_error() -> None:
    unknown = r"can't resolve host 'no-such-host\.invalid'"
    with pytest.raises(ServiceError, match=unknown):
        start_in_thread(FakeTarget(), "tok", host="no-such-host.invalid")


@pytest.mark.parametrize("seconds", [0, -1.0])
def test_a_bad_tick_interval_is_a_service_error(seconds: float) -> None:
    with pytest.raises(ServiceError, match="tick_seconds must be > 0"):
        start_in_thread(FakeTarget(), "tok", on_tick=lambda: None, tick_seconds=seconds)


def test_ticks_run_while_serving_and_stop_with_the_server() -> None:
    ticks: list[float] = []
    with start_in_thread(
        FakeTarget(),
        "tok",
        on_tick=lambda: ticks.append(time.monotonic()),
        tick_seconds=0.02,
    ) as service:
        deadline = time.monotonic() + 10
        while len(ticks) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert httpx.get(f"{service.url}/health").status_code == 200
    seen = len(ticks)
    assert seen >= 5
    assert all(b - a >= 0.015 for a, b in itertools.pairwise(ticks))
    time.sleep(0.1)
    assert len(ticks) == seen


def test_a_failing_tick_is_logged_and_ticking_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def tick() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("scheduler hiccup")

    with (
        caplog.at_level(logging.ERROR, logger="ajo_workbench.service"),
        start_in_thread(FakeTarget(), "tok", on_tick=tick, tick_seconds=0.01),
    ):
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(calls) >= 3
    assert "the periodic tick failed; ticking goes on" in caplog.text
    assert "scheduler hiccup" in caplog.text


def test_stop_waits_for_a_tick_in_progress() -> None:
    inside = threading.Event()
    finished: list[bool] = []

    def tick() -> None:
        inside.set()
        time.sleep(0.3)
        finished.append(True)

    service = start_in_thread(FakeTarget(), "tok", on_tick=tick, tick_seconds=5)
    assert inside.wait(5)
    service.stop()
    assert finished == [True]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_serve_stops_cleanly_on_a_signal(sig: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, str(PROCESS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=_collect, args=(process.stdout, out), daemon=True),
        threading.Thread(target=_collect, args=(process.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        url = _wait_for_url(err, process)
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=5) as http:
            assert http.get("/health").status_code == 200
            answer = http.post(
                f"/campaigns/{LIVE}/trigger",
                headers={"Authorization": "Bearer process-token"},
                json={"variables": {"a": 1}},
            )
            assert answer.status_code == 200
        deadline = time.monotonic() + 10
        while out.count("tick") < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(sig)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    for reader in readers:
        reader.join(5)
    assert out.count("tick") >= 3
    assert out[-1] == "served", (out, err)
    log = "\n".join(err)
    assert f"{sig.name}: stopping the signal service" in log
    assert "signal service stopped" in log
    assert "Traceback" not in log


def _collect(stream: object, lines: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.append(line.rstrip("\n"))


def _wait_for_url(err: list[str], process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in list(err):
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                return found.group(1)
        assert process.poll() is None, "\n".join(err)
        time.sleep(0.02)
    raise AssertionError("the server did not start: " + "\n".join(err))

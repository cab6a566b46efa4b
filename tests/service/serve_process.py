"""Runs ``serve`` in the foreground of its own process, for the signal tests.

Logs go to stderr (the test reads the port from the "listening on" line); each tick
prints ``tick`` and the end of ``serve`` prints ``served`` on stdout.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fake_target import FakeTarget

from ajo_workbench.service import serve


def tick() -> None:
    print("tick", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    serve(FakeTarget(), "process-token", port=0, on_tick=tick, tick_seconds=0.05)
    print("served", flush=True)

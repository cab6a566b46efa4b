"""The workspace database: opened by several threads or processes at once."""

from __future__ import annotations

import threading
from pathlib import Path

from ajo_workbench.storage.database import Database


def test_several_openers_of_a_new_database_all_succeed(tmp_path: Path) -> None:
    failures: list[BaseException] = []

    def open_it(path: Path, ready: threading.Barrier) -> None:
        ready.wait()
        try:
            Database(path).query("SELECT count(*) FROM campaigns")
        except BaseException as error:  # reported below, with the others
            failures.append(error)

    for round_ in range(15):
        path = tmp_path / f"new-{round_}.db"
        ready = threading.Barrier(4)
        openers = [
            threading.Thread(target=open_it, args=(path, ready)) for _ in range(4)
        ]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(60)
    assert failures == []

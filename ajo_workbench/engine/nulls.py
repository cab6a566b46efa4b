"""Where a large dimension's attributes are null, held in memory for Preview schema.

Counting the nulls of every attribute over a transition's rows means reading every
attribute of those rows; at ten million profiles that takes a second or more. A
:class:`NullIndex` reads them once per table file (in the background, after a test
execution) and keeps one boolean per row and attribute, so a schema then needs only
the transition's keys: their positions, a mask, and a count per attribute.

It applies to tables whose keys are consecutive integers in file order (generated
and most imported tables); for others the schema is computed from the rows.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import polars as pl

LARGE = 100_000
"""Rows from which a table's nulls are indexed; smaller tables are quick to read."""

_INDEXES: dict[tuple[str, int, int], NullIndex | None] = {}
_LOCK = threading.Lock()


class NullIndex:
    """Nulls per attribute of a table file whose keys run from ``first`` on, one by
    one, in file order."""

    def __init__(self, first: int, nulls: dict[str, np.ndarray]) -> None:
        self.first = first
        self.nulls = nulls
        self.rows = len(next(iter(nulls.values()))) if nulls else 0

    @classmethod
    def build(cls, rows: pl.LazyFrame, key: str) -> NullIndex | None:
        """Read a table's null marks; None when its keys are not consecutive."""
        names = [n for n in rows.collect_schema().names() if n != key]
        frame = rows.select(key, *[pl.col(n).is_null() for n in names]).collect()
        keys = frame[key]
        if frame.is_empty() or not names or not keys.dtype.is_integer():
            return None
        first, last = int(keys[0]), int(keys[-1])
        if last - first != frame.height - 1 or not keys.is_sorted():
            return None
        return cls(first, {n: frame[n].to_numpy() for n in names})

    def summary(
        self, keys: pl.Series
    ) -> tuple[int, dict[str, int], dict[str, int | None]]:
        """For a population's keys: how many are in the table, the nulls per
        attribute (keys missing from the table count as nulls), and the key of the
        first row, in table order, with a value for each attribute."""
        positions = keys.to_numpy().astype(np.int64) - self.first
        inside = (positions >= 0) & (positions < self.rows)
        missing = int(np.count_nonzero(~inside))
        mask = np.zeros(self.rows, dtype=bool)
        mask[positions[inside]] = True
        nulls: dict[str, int] = {}
        firsts: dict[str, int | None] = {}
        for name, null in self.nulls.items():
            nulls[name] = int(np.count_nonzero(null & mask)) + missing
            present = mask & ~null
            found = int(np.argmax(present))
            firsts[name] = self.first + found if present[found] else None
        return len(keys) - missing, nulls, firsts


def _stamp(path: Path) -> tuple[str, int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return (str(path), status.st_mtime_ns, status.st_size)


def ready(path: Path) -> NullIndex | None:
    """The index of a table file, if it was built already."""
    stamp = _stamp(path)
    with _LOCK:
        return _INDEXES.get(stamp) if stamp else None


def build(path: Path, rows: pl.LazyFrame, key: str) -> None:
    """Build (once) the index of a table file; a file that changes gets a new one."""
    stamp = _stamp(path)
    if stamp is None:
        return
    with _LOCK:
        if stamp in _INDEXES:
            return
        for old in [s for s in _INDEXES if s[0] == stamp[0]]:
            del _INDEXES[old]  # the file was replaced: forget its old marks
    index = NullIndex.build(rows, key)
    with _LOCK:
        _INDEXES[stamp] = index

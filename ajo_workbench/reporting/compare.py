"""Two executions side by side: activity by activity, down to the profiles.

Works for any two executions: two test runs, a test run and a live one, two
occurrences, or executions of different definitions, which compare on the
activity and transition ids they share.
"""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from ajo_workbench.engine import Execution
from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.graph import topological_order
from ajo_workbench.reporting.activities import activity_report, population
from ajo_workbench.reporting.worktables import dimension_of, key_of, transition_keys

logger = logging.getLogger(__name__)

COMPARED_ACTIVITIES: dict[str, Any] = {
    "activity_id": pl.String,
    "type": pl.String,
    "status_a": pl.String,
    "status_b": pl.String,
    "count_a": pl.Int64,
    "count_b": pl.Int64,
    "delta": pl.Int64,
    "change": pl.Float64,
}
"""The columns of :attr:`Comparison.activities`."""

UNMATCHED: dict[str, Any] = {"kind": pl.String, "id": pl.String, "only_in": pl.String}
"""The columns of :attr:`Comparison.unmatched`."""


class Comparison:
    """What changed from execution ``a`` to execution ``b``.

    Made by :func:`compare`. Counts are read when the comparison is made; the
    profile paths when :meth:`paths` is first called, and kept.

    Attributes
    ----------
    a, b
        The two executions.
    activities
        One row per activity both canvases have, in ``a``'s dependency order:
        ``activity_id``, ``type``, ``status_a``, ``status_b``, ``count_a``,
        ``count_b`` (the rows that reached the activity, or for a source, the
        rows it produced; null before its task finished), ``delta``
        (``count_b - count_a``) and ``change`` (``delta / count_a``, null when
        ``count_a`` is 0 or null).
    transitions
        One row per transition both canvases have, in ``a``'s file order:
        ``transition_id``, ``from``, ``port``, ``to`` (as in ``a``), ``count_a``,
        ``count_b``, ``delta`` and ``change``.
    unmatched
        The activities and transitions only one of the canvases has:
        ``kind`` (``activity`` or ``transition``), ``id`` and ``only_in``
        (``a`` or ``b``).
    key
        The key column of the profiles compared: the key of ``a``'s campaign
        dimension, such as ``profile_id``.
    """

    def __init__(self, a: Execution, b: Execution) -> None:
        self.a = a
        self.b = b
        self.dimension = a.definition.dimension
        self.key = key_of(a, self.dimension)
        self.activities = self._activities()
        self.transitions = self._transitions()
        self.unmatched = self._unmatched()
        self._paths: pl.DataFrame | None = None

    def __repr__(self) -> str:
        return f"<Comparison {self.a.id} → {self.b.id}>"

    def paths(self, transition_id: str | None = None) -> pl.DataFrame:
        """The transitions each profile went through in ``a`` and in ``b``.

        Parameters
        ----------
        transition_id
            Only the profiles that went through this shared transition in
            ``a`` or in ``b`` (with their whole paths); every profile by default.

        Returns
        -------
        polars.DataFrame
            One row per profile found on a shared transition of either
            execution: the key column (see :attr:`key`), then ``a`` and ``b``
            (the sorted ids of the transitions it went through; empty where it
            went through none), ``only_in_a``, ``only_in_b`` and ``changed``
            (whether the two sets differ). Rows are sorted by key.

        Raises
        ------
        ExecutionError
            When a shared transition carried rows but its table is not
            available any more (see ``keep_interim_results``).

        Notes
        -----
        Only the transitions both canvases have, and that carried ``a``'s
        campaign dimension in both executions, are compared: a profile's path
        through a transition only one canvas has is not a change here (the
        transition is in :attr:`unmatched`).

        The keys are read from each transition's table as a preview reads it:
        a test execution that does not keep its work tables computes its
        deferred columns (enrichment values computed when first shown) on the
        way, once.
        """
        if self._paths is None:
            self._paths = self._compute_paths()
        if transition_id is None:
            return self._paths
        if transition_id not in self.transitions["transition_id"]:
            shared = ", ".join(self.transitions["transition_id"]) or "none"
            raise KeyError(
                f"no transition {transition_id!r} in both executions "
                f"(shared transitions: {shared})"
            )
        through = pl.col("a").list.contains(transition_id) | pl.col("b").list.contains(
            transition_id
        )
        return self._paths.filter(through)

    def changed_profiles(self) -> pl.DataFrame:
        """The profiles whose set of transitions differs between ``a`` and ``b``:
        the key column, ``a``, ``b``, ``only_in_a`` and ``only_in_b``."""
        return self.paths().filter("changed").drop("changed")

    # -- counts --------------------------------------------------------------------

    def _activities(self) -> pl.DataFrame:
        def counted(execution: Execution, suffix: str) -> pl.DataFrame:
            definition = execution.definition
            report = activity_report(
                definition, execution.tasks, topological_order(definition)
            )
            return report.select(
                "activity_id",
                "type",
                pl.col("status").alias(f"status_{suffix}"),
                population(definition).alias(f"count_{suffix}"),
            )

        in_a, in_b = counted(self.a, "a"), counted(self.b, "b")
        joined = in_a.join(
            in_b.drop("type"), on="activity_id", how="inner", maintain_order="left"
        )
        return _with_delta(joined).select(list(COMPARED_ACTIVITIES))

    def _transitions(self) -> pl.DataFrame:
        ids_b = {t.id for t in self.b.definition.transitions}
        rows = [
            (t.id, t.source, t.port, t.target, self.a.count(t.id), self.b.count(t.id))
            for t in self.a.definition.transitions
            if t.id in ids_b
        ]
        schema = {
            "transition_id": pl.String,
            "from": pl.String,
            "port": pl.String,
            "to": pl.String,
            "count_a": pl.Int64,
            "count_b": pl.Int64,
        }
        return _with_delta(pl.DataFrame(rows, schema=schema, orient="row"))

    def _unmatched(self) -> pl.DataFrame:
        rows = []
        for kind in ("activity", "transition"):
            ids_a = _ids(self.a, kind)
            ids_b = _ids(self.b, kind)
            rows += [(kind, i, "a") for i in ids_a if i not in ids_b]
            rows += [(kind, i, "b") for i in ids_b if i not in ids_a]
        return pl.DataFrame(rows, schema=UNMATCHED, orient="row")

    # -- profiles ----------------------------------------------------------------

    def _compute_paths(self) -> pl.DataFrame:
        key = self.key
        through_a = self._through(self.a)
        through_b = self._through(self.b)
        if through_a.is_empty():
            through_a = through_a.cast({key: through_b.schema[key]})
        if through_b.is_empty():
            through_b = through_b.cast({key: through_a.schema[key]})
        if through_a.schema[key] != through_b.schema[key]:
            # a dimension imported again with another key type: compare as text
            through_a = through_a.with_columns(pl.col(key).cast(pl.String))
            through_b = through_b.with_columns(pl.col(key).cast(pl.String))

        def sets(long: pl.DataFrame, name: str) -> pl.DataFrame:
            return long.group_by(key).agg(pl.col("transition_id").sort().alias(name))

        only_a = through_a.join(through_b, on=[key, "transition_id"], how="anti")
        only_b = through_b.join(through_a, on=[key, "transition_id"], how="anti")
        paths = (
            sets(through_a, "a")
            .join(sets(through_b, "b"), on=key, how="full", coalesce=True)
            .join(sets(only_a, "only_in_a"), on=key, how="left")
            .join(sets(only_b, "only_in_b"), on=key, how="left")
        )
        empty = pl.lit([], dtype=pl.List(pl.String))
        lists = ["a", "b", "only_in_a", "only_in_b"]
        paths = paths.with_columns(pl.col(lists).fill_null(empty))
        changed = (pl.col("only_in_a").list.len() + pl.col("only_in_b").list.len()) > 0
        paths = paths.with_columns(changed.alias("changed")).sort(key)
        logger.debug(
            "%r: %d profiles, %d changed path",
            self,
            paths.height,
            paths["changed"].sum(),
        )
        return paths

    def _through(self, execution: Execution) -> pl.DataFrame:
        """(key, transition_id) for every profile on every shared transition."""
        parts = []
        for transition_id in self.transitions["transition_id"]:
            if execution.count(transition_id) == 0:
                continue
            dimension = dimension_of(execution, transition_id)
            if dimension != self.dimension:
                logger.debug(
                    "comparison %r: transition %s carries %s, not %s; left out",
                    self,
                    transition_id,
                    dimension,
                    self.dimension,
                )
                continue
            keys = transition_keys(execution, transition_id, self.key)
            parts.append(
                keys.to_frame(self.key).with_columns(
                    transition_id=pl.lit(transition_id, pl.String)
                )
            )
        if not parts:
            schema = {self.key: pl.String, "transition_id": pl.String}
            return pl.DataFrame(schema=schema)
        return pl.concat(parts)


def compare(a: Execution, b: Execution) -> Comparison:
    """Compare two executions, activity by activity and down to the profiles.

    Examples
    --------
    >>> first, second = campaign.executions[-2:]  # doctest: +SKIP
    >>> diff = compare(first, second)  # doctest: +SKIP
    >>> diff.activities.select("activity_id", "delta")  # doctest: +SKIP
    >>> diff.changed_profiles().height  # doctest: +SKIP

    Raises
    ------
    ExecutionError
        When ``a`` or ``b`` is not an execution.
    """
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, Execution):
            raise ExecutionError(
                f"compare: {name} must be an execution (such as campaign.executions"
                f"[-1]), got {type(value).__name__}"
            )
    return Comparison(a, b)


def _with_delta(frame: pl.DataFrame) -> pl.DataFrame:
    delta = pl.col("count_b") - pl.col("count_a")
    change = pl.when(pl.col("count_a") > 0).then(delta / pl.col("count_a"))
    return frame.with_columns(delta.alias("delta"), change.alias("change"))


def _ids(execution: Execution, kind: str) -> list[str]:
    definition = execution.definition
    items = definition.activities if kind == "activity" else definition.transitions
    return [item.id for item in items]

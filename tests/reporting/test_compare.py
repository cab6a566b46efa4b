"""Comparing two executions: activity by activity, and the profiles that changed
path, checked against sets of profiles computed from each transition's table."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.engine import Execution
from ajo_workbench.reporting import COMPARED_ACTIVITIES, Comparison, compare

from .conftest import without_confirmation

Paths = dict[int, set[str]]


def paths_by_hand(run: Execution, transitions: Iterable[str]) -> Paths:
    """Each profile's transitions, read one transition table at a time."""
    found: Paths = defaultdict(set)
    for transition_id in transitions:
        if run.count(transition_id):
            for key in run.frame(transition_id)["profile_id"].to_list():
                found[key].add(transition_id)
    return found


def changes_by_hand(a: Paths, b: Paths) -> dict[int, tuple[list[str], list[str]]]:
    """Profile → (transitions only in a, only in b), for the profiles that moved."""
    return {
        key: (
            sorted(a.get(key, set()) - b.get(key, set())),
            sorted(b.get(key, set()) - a.get(key, set())),
        )
        for key in set(a) | set(b)
        if a.get(key, set()) != b.get(key, set())
    }


def changes_found(comparison: Comparison) -> dict[int, tuple[list[str], list[str]]]:
    changed = comparison.changed_profiles()
    return {
        row["profile_id"]: (row["only_in_a"], row["only_in_b"])
        for row in changed.iter_rows(named=True)
    }


def with_threshold(document: dict[str, Any], spend: int) -> dict[str, Any]:
    """The spring sale with another spend threshold for its ``big`` subset."""
    changed = copy.deepcopy(document)
    segments = next(a for a in changed["activities"] if a["id"] == "segments")
    segments["subsets"][0]["where"] = f"spend_90d >= {spend}"
    return changed


def test_two_test_runs_around_a_changed_condition(
    sale: ajo.Campaign, spring_sale: dict[str, Any]
) -> None:
    first = sale.start().wait(60)
    sale.update(with_threshold(spring_sale, 300))
    second = sale.start().wait(60)
    assert first.state == second.state == "finished"

    comparison = compare(first, second)
    assert comparison.key == "profile_id"
    assert comparison.activities.schema == pl.Schema(COMPARED_ACTIVITIES)
    transitions = [t.id for t in first.definition.transitions]
    expected = changes_by_hand(
        paths_by_hand(first, transitions), paths_by_hand(second, transitions)
    )
    assert len(expected) > 0
    assert changes_found(comparison) == expected

    # A lower threshold moves profiles into the big spenders' branch.
    moved_in = {k for k, (_, only_b) in expected.items() if "t4" in only_b}
    assert moved_in and not {k for k, (a, _) in expected.items() if "t4" in a}

    counts = comparison.transitions
    assert counts["transition_id"].to_list() == transitions
    for row in counts.iter_rows(named=True):
        assert row["count_a"] == first.count(row["transition_id"])
        assert row["count_b"] == second.count(row["transition_id"])
        assert row["delta"] == row["count_b"] - row["count_a"]
    activities = comparison.activities.filter(pl.col("activity_id") == "mail_big")
    mail = activities.row(0, named=True)
    assert (mail["count_a"], mail["count_b"]) == (first.count("t4"), second.count("t4"))
    assert mail["delta"] > 0
    assert mail["change"] == pytest.approx(mail["delta"] / mail["count_a"])
    assert comparison.unmatched.height == 0

    everyone = comparison.paths()
    assert everyone.height == len(
        set(paths_by_hand(first, transitions)) | set(paths_by_hand(second, transitions))
    )
    through = set(comparison.paths("t4")["profile_id"].to_list())
    big = set(first.frame("t4")["profile_id"]) | set(second.frame("t4")["profile_id"])
    assert through == big

    # Another process reads both executions back from the kept work tables.
    again = ajo.Workspace(sale.workspace.path).campaign(sale.id)
    restored = again.executions
    assert [e.id for e in restored] == [first.id, second.id]
    assert changes_found(compare(*restored)) == expected


def test_a_released_work_table_is_named_with_the_setting_that_keeps_it(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    document = copy.deepcopy(spring_sale)
    document["settings"]["keep_interim_results"] = False
    campaign = workspace.load_campaign(document)
    first = campaign.start().wait(60)
    second = campaign.start().wait(60)  # releases the first one's tables

    comparison = compare(first, second)
    assert comparison.activities["delta"].to_list() == [0] * 8  # counts stay
    with pytest.raises(
        ajo.ExecutionError, match=r"transition 't1' of execution"
    ) as caught:
        comparison.changed_profiles()
    message = str(caught.value)
    assert first.id in message and "keep_interim_results" in message
    restored = campaign.executions[0]
    with pytest.raises(ajo.ExecutionError, match="keep_interim_results"):
        compare(restored, second).paths()


def test_a_test_run_against_the_live_execution_after_the_data_changed(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    campaign = workspace.load_campaign(without_confirmation(spring_sale))
    tested = campaign.start().wait(60)
    profiles = workspace.table("profiles")
    demoted = set(tested.frame("t1")["profile_id"].head(40).to_list())
    workspace.import_table(
        "profiles",
        profiles.with_columns(
            loyalty_tier=pl.when(pl.col("profile_id").is_in(list(demoted)))
            .then(pl.lit("bronze"))
            .otherwise(pl.col("loyalty_tier"))
        ),
        key="profile_id",
    )
    live = campaign.publish()
    assert live is not None and live.wait(60).state == "finished", live.error

    comparison = compare(tested, live)
    transitions = [t.id for t in tested.definition.transitions]
    expected = changes_by_hand(
        paths_by_hand(tested, transitions), paths_by_hand(live, transitions)
    )
    found = changes_found(comparison)
    assert found == expected
    assert demoted <= set(found)  # they left every transition
    assert all(found[k][1] == [] and "t1" in found[k][0] for k in demoted)
    members = comparison.activities.row(0, named=True)
    assert members["activity_id"] == "members" and members["delta"] == -len(demoted)


def test_different_canvases_compare_on_the_ids_they_share(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    campaign = workspace.load_campaign(spring_sale)
    first = campaign.start().wait(60)
    document = with_threshold(spring_sale, 300)
    for activity in document["activities"]:
        if activity["id"] == "push_rest":
            activity["id"] = "push_later"
    renamed = {"t6": "t10", "t9": "t11"}
    for transition in document["transitions"]:
        transition["id"] = renamed.get(transition["id"], transition["id"])
        for end in ("from", "to"):
            if transition[end] == "push_rest":
                transition[end] = "push_later"
    campaign.update(document)
    second = campaign.start().wait(60)

    comparison = compare(first, second)
    assert comparison.unmatched.rows() == [
        ("activity", "push_rest", "a"),
        ("activity", "push_later", "b"),
        ("transition", "t6", "a"),
        ("transition", "t9", "a"),
        ("transition", "t10", "b"),
        ("transition", "t11", "b"),
    ]
    assert "push_rest" not in comparison.activities["activity_id"].to_list()
    shared = comparison.transitions["transition_id"].to_list()
    assert shared == ["t1", "t2", "t3", "t4", "t5", "t7", "t8"]
    expected = changes_by_hand(
        paths_by_hand(first, shared), paths_by_hand(second, shared)
    )
    assert changes_found(comparison) == expected
    assert len(expected) > 0


def test_an_execution_compared_with_itself_changes_nothing(tested: Execution) -> None:
    comparison = compare(tested, tested)
    assert comparison.changed_profiles().height == 0
    assert comparison.paths().height == tested.count("t1")
    assert set(comparison.activities["delta"].to_list()) == {0}


def test_wrong_arguments_are_refused(tested: Execution) -> None:
    with pytest.raises(ajo.ExecutionError, match="b must be an execution"):
        compare(tested, "latest")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no transition 't99' in both executions"):
        compare(tested, tested).paths("t99")

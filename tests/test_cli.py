"""The command line: sample, import, validate, test, logs and tasks; exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.cli import main

EXAMPLE = Path(__file__).parent.parent / "examples" / "spring-sale.json"


def run(*args: str) -> tuple[int, str, str]:
    process = subprocess.run(
        [sys.executable, "-m", "ajo_workbench.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return process.returncode, process.stdout, process.stderr


def test_sample_then_test_json(tmp_path: Path) -> None:
    folder = str(tmp_path / "ws")
    code, out, _ = run("-w", folder, "sample", "--profiles", "2000", "--seed", "3")
    assert code == 0
    assert "profiles" in out and "2,000 rows" in out

    code, out, err = run("-w", folder, "test", str(EXAMPLE), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["state"] == "finished"
    assert set(result["tasks"].values()) == {"success"}
    assert set(result["counts"]) == {f"t{i}" for i in range(1, 10)}
    assert result["counts"]["t1"] > 0

    code, out, _ = run("-w", folder, "test", str(EXAMPLE))
    assert code == 0
    assert "finished" in out and "segments [big] -> mail_big" in out

    code, out, _ = run("-w", folder, "tasks", "spring-sale", "--json")
    assert code == 0
    assert {row["activity_id"] for row in json.loads(out)} >= {"members", "end"}


def test_validate_reports_errors_with_exit_1(
    workspace: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["activities"][0]["where"] = "loyalty_tierr = 'gold'"
    document["transitions"].append({"id": "t10", "from": "nowhere", "to": "end"})
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))

    code = main(["-w", str(workspace.path), "validate", str(path), "--json"])
    alerts = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {a["code"] for a in alerts} >= {"DANGLING_TRANSITION"}

    code = main(["-w", str(workspace.path), "validate", str(EXAMPLE)])
    assert code == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_broken_file_lists_every_problem_and_changes_nothing(
    workspace: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(
        json.dumps(
            {
                "id": "x",
                "activities": [
                    {"id": "a", "type": "build_audience", "where": 1},
                    {"id": "b", "type": "split", "subsets": [{"label": "Bad Label"}]},
                ],
            }
        )
    )
    database = workspace.path / "workspace.db"
    before = database.read_bytes()

    code = main(["-w", str(workspace.path), "test", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "3 problems" in err
    assert "activities[0].where" in err
    assert "activities[1].subsets[0].label" in err
    assert "activities[1].subsets[0].where: is required" in err
    assert workspace.campaigns == []
    assert database.read_bytes() == before


def test_import_and_usage_errors(
    workspace: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "stores.csv"
    pl.DataFrame({"store_id": [1, 2], "city": ["Lyon", "Gent"]}).write_csv(csv)
    folder = str(workspace.path)

    assert main(["-w", folder, "import", "stores", str(csv), "--key", "store_id"]) == 0
    assert "stores: 2 rows" in capsys.readouterr().out

    assert main(["-w", folder, "import", "stores", str(csv), "--key", "nope"]) == 2
    assert "primary key 'nope' is not a column" in capsys.readouterr().err
    assert (
        main(
            [
                "-w",
                folder,
                "import",
                "s",
                str(csv),
                "--key",
                "store_id",
                "--link",
                "broken",
            ]
        )
        == 2
    )
    assert main(["-w", folder, "tasks", "no-such-campaign"]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["frobnicate"])
    assert usage.value.code == 2


def test_default_workspace_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AJO_WORKBENCH_WORKSPACE", raising=False)
    assert main(["sample", "--profiles", "200"]) == 0
    assert (tmp_path / "workspace" / "workspace.db").exists()
    shutil.rmtree(tmp_path / "workspace")


@pytest.mark.parametrize("example", sorted(EXAMPLE.parent.glob("*.json")), ids=str)
def test_every_example_runs_from_the_cli(
    sample_folder: Path, tmp_path: Path, example: Path
) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(sample_folder, folder)
    code, out, err = run(
        "-w", str(folder), "test", str(example), "--json", "--fast-forward"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["state"] == "finished"
    assert "error" not in result["tasks"].values()
    assert "abandoned" not in result["tasks"].values()
    document = json.loads(example.read_text())
    assert document["description"].endswith(".")
    assert set(result["counts"]) == {t["id"] for t in document["transitions"]}
    assert result["counts"][document["transitions"][0]["id"]] > 0


def test_an_execution_left_active_by_a_dead_process_is_recovered(
    sample_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(sample_folder, folder)
    welcome = EXAMPLE.parent / "welcome-series.json"
    code, out, _ = run("-w", str(folder), "test", str(welcome), "--json")
    assert code == 1  # the real clock leaves it waiting two days
    left = json.loads(out)
    assert left["state"] == "waiting"

    code, out, err = run(
        "-w", str(folder), "test", str(welcome), "--json", "--fast-forward"
    )
    assert code == 0, err
    code, out, _ = run("-w", str(folder), "logs", "welcome-series", "--json")
    recovered = [r for r in json.loads(out) if r["action"] == "recover"]
    assert len(recovered) == 1
    assert left["execution_id"] in recovered[0]["message"]
    assert "the process that ran it ended" in recovered[0]["message"]


def test_kept_work_tables_are_read_by_another_process(
    sample_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(sample_folder, folder)
    code, out, err = run("-w", str(folder), "test", str(EXAMPLE), "--json")
    assert code == 0, err
    counts = json.loads(out)["counts"]

    # This process never ran the execution: it reads what the CLI's process kept.
    workspace = ajo.Workspace(folder)
    earlier = workspace.campaign("spring-sale").executions[-1]
    assert earlier.state == "finished"
    for transition_id, count in counts.items():
        assert earlier.frame(transition_id).height == count
    assert earlier.frame("t2").columns == ["profile_id", "orders_90d", "spend_90d"]


def test_publish_needs_every_confirmation_then_sends(
    sample_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(sample_folder, folder)
    code, _, err = run("-w", str(folder), "publish", str(EXAMPLE))
    assert code == 2
    assert "--confirm mail_big" in err and "nothing was published" in err
    assert ajo.Workspace(folder).campaigns == []  # nothing changed

    code, out, err = run(
        "-w", str(folder), "publish", str(EXAMPLE), "--confirm-all", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert (result["state"], result["status"]) == ("finished", "completed")
    workspace = ajo.Workspace(folder)
    events = workspace.feedback_events
    sent = events.filter(pl.col("status") == "sent")
    files = list((folder / "outbox").rglob("*.json"))
    assert len(files) == sent.height > 0
    assert (
        sent.height
        == result["counts"]["t7"] + result["counts"]["t8"] + (result["counts"]["t9"])
    )

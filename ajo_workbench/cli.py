"""The ``ajo-workbench`` command line (SPEC §11.2).

Exit codes: 0 ok, 1 campaign errors (a broken file, validation errors, a refused
action or signal, an execution that did not finish), 2 usage errors (bad
arguments, a bad import, an unusable workspace).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ajo_workbench.clock import SimulatedClock
from ajo_workbench.engine import Execution
from ajo_workbench.errors import (
    DataError,
    DefinitionError,
    ExecutionError,
    LifecycleError,
    SignalRefusedError,
    ValidationError,
    WorkbenchError,
    WorkspaceError,
)
from ajo_workbench.model.alerts import errors
from ajo_workbench.model.catalogue import CHANNEL_ADDRESS
from ajo_workbench.model.definition import load_definition
from ajo_workbench.service import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    TOKEN_ENV,
    TokenFile,
    serve,
    workspace_token,
)
from ajo_workbench.workspace import Workspace, summary

OK, CAMPAIGN_ERRORS, USAGE_ERRORS = 0, 1, 2
DEFAULT_WORKSPACE = "workspace"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except (
        DefinitionError,
        ValidationError,
        LifecycleError,
        ExecutionError,
        SignalRefusedError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return CAMPAIGN_ERRORS
    except (DataError, WorkspaceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERRORS
    except (KeyError, WorkbenchError) as error:
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
        return USAGE_ERRORS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ajo-workbench",
        description="Orchestrated marketing campaigns, headless.",
    )
    parser.add_argument(
        "--workspace",
        "-w",
        default=os.environ.get("AJO_WORKBENCH_WORKSPACE", DEFAULT_WORKSPACE),
        help="workspace folder (default: $AJO_WORKBENCH_WORKSPACE or ./workspace)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    # ``--workspace`` also after the command (``serve --workspace DIR``).
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument(
        "--workspace", "-w", default=argparse.SUPPRESS, help="workspace folder"
    )
    # What the commands that run an execution share.
    running = argparse.ArgumentParser(add_help=False)
    running.add_argument("--json", action="store_true", help="print JSON")
    running.add_argument("--timeout", type=float, default=None, help="seconds")

    sample = commands.add_parser("sample", parents=[after], help="generate sample data")
    sample.add_argument("--profiles", type=int, default=50_000)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--purchases-per-profile", type=float, default=5.0)
    sample.set_defaults(command=_sample)

    table = commands.add_parser(
        "import", parents=[after], help="import a Parquet or CSV table"
    )
    table.add_argument("name")
    table.add_argument("file", type=Path)
    table.add_argument("--key", required=True, help="primary-key column")
    table.add_argument(
        "--link",
        action="append",
        default=[],
        metavar="COLUMN=TABLE",
        help="a column pointing at another table's key (repeatable)",
    )
    table.set_defaults(command=_import)

    check = commands.add_parser(
        "validate", parents=[after], help="validate a campaign file"
    )
    check.add_argument("file", type=Path)
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(command=_validate)

    test = commands.add_parser(
        "test", parents=[after, running], help="run a test execution of a campaign file"
    )
    test.add_argument("file", type=Path)
    test.add_argument(
        "--fast-forward",
        action="store_true",
        help="run on a simulated clock that jumps to each wait's time",
    )
    test.set_defaults(command=_test)

    publish = commands.add_parser(
        "publish",
        parents=[after, running],
        help="publish a campaign file and run its live execution",
    )
    publish.add_argument("file", type=Path)
    publish.add_argument(
        "--confirm",
        action="append",
        default=[],
        metavar="ACTIVITY",
        help="confirm the send of this channel activity (repeatable)",
    )
    publish.add_argument(
        "--confirm-all",
        action="store_true",
        help="confirm every channel activity that waits for it",
    )
    publish.set_defaults(command=_publish)

    confirm = commands.add_parser(
        "confirm",
        parents=[after, running],
        help="confirm the send of a live campaign's waiting channel activities",
    )
    confirm.add_argument("campaign")
    confirm.add_argument("activities", nargs="*", metavar="ACTIVITY")
    confirm.add_argument(
        "--all",
        action="store_true",
        dest="confirm_all",
        help="confirm every channel activity that waits for it",
    )
    confirm.set_defaults(command=_confirm)

    signal = commands.add_parser(
        "signal", parents=[after, running], help="signal a live campaign"
    )
    signal.add_argument("campaign")
    signal.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable of the signal (repeatable)",
    )
    signal.set_defaults(command=_signal)

    service = commands.add_parser(
        "serve", parents=[after], help="run due occurrences and the HTTP signal API"
    )
    service.add_argument("--host", default=DEFAULT_HOST)
    service.add_argument("--port", type=int, default=DEFAULT_PORT)
    service.add_argument(
        "--tick", type=float, default=1.0, help="seconds between schedule checks"
    )
    service.set_defaults(command=_serve)

    delivery = commands.add_parser(
        "delivery",
        parents=[after],
        help="show or set the workspace's delivery providers",
    )
    delivery.add_argument(
        "file", type=Path, nargs="?", help="a JSON delivery config to keep"
    )
    delivery.set_defaults(command=_delivery)

    for name, helptext in (
        ("logs", "show a campaign's log"),
        ("tasks", "show the tasks of its latest execution"),
    ):
        show = commands.add_parser(name, parents=[after], help=helptext)
        show.add_argument("campaign")
        show.add_argument("--json", action="store_true", help="print JSON")
        show.set_defaults(command=_show, what=name)
    return parser


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace(args.workspace)


def _sample(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    infos = _workspace(args).generate_sample_data(
        profiles=args.profiles,
        seed=args.seed,
        purchases_per_profile=args.purchases_per_profile,
    )
    for name, info in infos.items():
        print(f"{name:<10} {info.rows:>12,} rows")
    print(f"sample data in {args.workspace} ({time.perf_counter() - started:.1f} s)")
    return OK


def _import(args: argparse.Namespace) -> int:
    links = {}
    for item in args.link:
        column, separator, target = item.partition("=")
        if not separator or not column or not target:
            raise DataError(f"--link {item!r} must read COLUMN=TABLE")
        links[column] = target
    info = _workspace(args).import_table(
        args.name, args.file, key=args.key, links=links
    )
    print(f"{info.name}: {info.rows:,} rows, key {info.key}")
    return OK


def _validate(args: argparse.Namespace) -> int:
    definition = load_definition(args.file)
    workspace_path = Path(args.workspace)
    if (workspace_path / "workspace.db").exists():
        alerts = Workspace(workspace_path).validate(definition)
    else:
        from ajo_workbench.validation import validate

        alerts = validate(definition)
    if args.json:
        print(json.dumps([alert.to_dict() for alert in alerts], indent=2))
    else:
        for alert in alerts:
            print(alert)
        print(
            f"{len(errors(alerts))} error(s), "
            f"{len(alerts) - len(errors(alerts))} warning(s)"
        )
    return CAMPAIGN_ERRORS if errors(alerts) else OK


def _test(args: argparse.Namespace) -> int:
    clock = SimulatedClock(datetime.now(UTC)) if args.fast_forward else None
    workspace = Workspace(args.workspace, clock=clock)
    campaign = workspace.load_campaign(args.file)
    started = time.perf_counter()
    earlier = campaign.latest_execution("test")
    if earlier is not None and earlier.state == "paused":
        # Left paused (by the user, an error, or a process that ended): a new
        # test run replaces it, as Restart does in the workbench.
        print(f"restarting: test execution {earlier.id} was paused", file=sys.stderr)
        run = campaign.restart().wait(args.timeout)
    else:
        run = campaign.start().wait(args.timeout)
    while clock is not None and run.state == "waiting" and clock.pending:
        step = clock.pending[0] - clock.now()
        clock.advance(seconds=max(step.total_seconds(), 0))
        run.wait(args.timeout)
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps(summary(run), indent=2))
    else:
        _print_summary(run, campaign.name, elapsed)
    return OK if run.state == "finished" else CAMPAIGN_ERRORS


def _publish(args: argparse.Namespace) -> int:
    """Publish, confirm the sends asked for, and wait for the live execution.

    An as-soon-as-possible campaign's live execution runs in this process, so
    every channel activity that would wait for Confirm send must be confirmed on
    the command line; otherwise nothing is published. A scheduled or
    signal-triggered campaign runs later, in the service: ``confirm`` confirms
    its sends then.
    """
    workspace = _workspace(args)
    definition = load_definition(args.file)
    waiting = [
        activity.id
        for activity in definition.activities
        if activity.type in CHANNEL_ADDRESS
        and definition.settings.send_confirmation
        and definition.schedule.get("type", "asap") == "asap"
        and activity.get("send_confirmation", True) is not False
    ]
    unconfirmed = [a for a in waiting if not args.confirm_all and a not in args.confirm]
    if unconfirmed:
        flags = " ".join(f"--confirm {a}" for a in unconfirmed)
        print(
            f"error: {', '.join(unconfirmed)} would wait for Confirm send: add "
            f"{flags} (or --confirm-all); nothing was published",
            file=sys.stderr,
        )
        return USAGE_ERRORS
    campaign = workspace.load_campaign(args.file)
    started = time.perf_counter()
    live = campaign.publish()
    if live is None:
        print(f"{campaign.name}: published, status {campaign.status}")
        if any(a.type in CHANNEL_ADDRESS for a in definition.activities):
            print(
                "its executions run in `ajo-workbench serve`; confirm the sends "
                f"that wait with `ajo-workbench confirm {campaign.id} ACTIVITY`"
            )
        return OK
    live.wait(args.timeout)
    while live.state == "waiting" and live.awaiting:
        chosen = [a for a in live.awaiting if args.confirm_all or a in args.confirm]
        if not chosen:
            break
        for activity_id in chosen:
            campaign.confirm_send(activity_id)
        live.wait(args.timeout)
    elapsed = time.perf_counter() - started

    if args.json:
        print(json.dumps({**summary(live), "status": campaign.status}, indent=2))
    else:
        _print_summary(live, campaign.name, elapsed)
        print(f"status: {campaign.status}")
    return OK if live.state == "finished" else CAMPAIGN_ERRORS


def _confirm(args: argparse.Namespace) -> int:
    """Confirm sends of the live execution, wherever it runs.

    When another process runs it (the service, a notebook), the confirmations are
    recorded for that process, which sends; otherwise this process sends and
    waits for the execution as ``publish`` does.
    """
    workspace = _workspace(args)
    campaign = workspace.campaign(args.campaign)
    live = campaign.latest_execution("live")
    awaiting = list(live.awaiting) if live is not None else []
    chosen = awaiting if args.confirm_all else list(args.activities)
    if not chosen:
        waiting = ", ".join(awaiting) or "none"
        print(
            f"error: name the channel activities to confirm, or --all "
            f"(waiting for Confirm send: {waiting})",
            file=sys.stderr,
        )
        return USAGE_ERRORS
    for activity_id in chosen:
        campaign.confirm_send(activity_id)
    assert live is not None  # confirm_send refuses a campaign without one
    here = workspace.running.get(live.id)
    if here is None:
        message = (
            f"confirmed {', '.join(chosen)}: the process running execution "
            f"{live.id} sends"
        )
        if args.json:
            print(json.dumps({"execution_id": live.id, "confirmed": chosen}))
        else:
            print(message)
        return OK
    started = time.perf_counter()
    here.wait(args.timeout)
    if args.json:
        print(json.dumps({**summary(here), "status": campaign.status}, indent=2))
    else:
        _print_summary(here, campaign.name, time.perf_counter() - started)
        print(f"status: {campaign.status}")
    return OK if here.state in ("finished", "waiting") else CAMPAIGN_ERRORS


def _signal(args: argparse.Namespace) -> int:
    variables: dict[str, str] = {}
    for item in args.var:
        name, equals, value = item.partition("=")
        if not equals or not name:
            print(f"error: --var {item!r} is not NAME=VALUE", file=sys.stderr)
            return USAGE_ERRORS
        variables[name] = value
    workspace = _workspace(args)
    started = time.perf_counter()
    execution = workspace.running[workspace.trigger(args.campaign, variables)]
    execution.wait(args.timeout)
    if args.json:
        print(json.dumps(summary(execution), indent=2, default=str))
    else:
        _print_summary(execution, args.campaign, time.perf_counter() - started)
    return OK if execution.state in ("finished", "waiting") else CAMPAIGN_ERRORS


def _serve(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    token = workspace_token(workspace.path)
    if isinstance(token, TokenFile):
        where = "generated into" if token.created else "read from"
        print(f"token {where} {token.path}: {token.current()}", flush=True)
    else:
        print(f"token: from ${TOKEN_ENV}", flush=True)
    print(
        f"serving {workspace.path} on http://{args.host}:{args.port} "
        "(POST /campaigns/ID/trigger)",
        flush=True,
    )
    serve(
        workspace,
        token,
        host=args.host,
        port=args.port,
        on_tick=workspace.scheduler.tick,
        tick_seconds=args.tick,
    )
    return OK


def _delivery(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    if args.file is not None:
        try:
            config = json.loads(args.file.read_text())
        except OSError as error:
            print(f"error: can't read {args.file}: {error.strerror}", file=sys.stderr)
            return USAGE_ERRORS
        except json.JSONDecodeError as error:
            print(
                f"error: {args.file}: not JSON (line {error.lineno}, column "
                f"{error.colno}): {error.msg}",
                file=sys.stderr,
            )
            return USAGE_ERRORS
        workspace.configure_delivery(config)
    print(json.dumps(workspace.delivery, indent=2, sort_keys=True))
    return OK


def _print_summary(run: Execution, name: str, elapsed: float) -> None:
    definition = run.definition
    print(f"{name}: {run.mode} execution {run.id} {run.state} in {elapsed:.2f} s")
    if run.error:
        print(f"  error: {run.error}")
    print("activities")
    for activity in definition.activities:
        status = run.task_status(activity.id)
        print(f"  {activity.id:<24} {activity.type:<16} {status}")
    print("transitions")
    for transition in definition.transitions:
        port = "" if transition.port == "out" else f" [{transition.port}]"
        edge = f"{transition.source}{port} -> {transition.target}"
        print(f"  {transition.id:<8} {edge:<48} {run.count(transition.id):>12,}")


def _show(args: argparse.Namespace) -> int:
    campaign = _workspace(args).campaign(args.campaign)
    frame = campaign.logs if args.what == "logs" else campaign.tasks
    if args.json:
        print(frame.write_json())
    else:
        import polars as pl

        with pl.Config(
            tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=80, tbl_width_chars=200
        ):
            print(frame)
    return OK


if __name__ == "__main__":
    sys.exit(main())

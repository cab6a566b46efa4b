"""The reference campaign in test mode against hand-written polars, DuckDB and pandas.

Usage::

    python benchmarks/compare.py --profiles 1000000 10000000 --runs 3

Sample data is generated once per size (cached under ``benchmarks/.cache``). Each
run of each implementation happens in its own process, the implementations
interleaved, so every timing has a fresh process and its own peak memory. The
script checks that all four agree on every transition count, then prints medians,
min-max, the ratio to hand-written polars and the peak memory of each.

The reference campaign (SPEC §12): a build audience on country and creation date;
an enrichment with the count and sum of purchases in a 90-day window and the last
purchase date; a deduplication on e-mail ordered by spend; an ordered three-way
split (spend of 500 or more, France, complement); the complement minus recent
buyers (an exclusion against a build audience with ``IN (SELECT …)`` over
purchases); three channel activities.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent
CACHE = ROOT / ".cache"
WINDOW = datetime(2026, 9, 2)
RECENT = datetime(2026, 11, 1)
CREATED = datetime(2021, 1, 1)
COUNTRIES = ("FR", "DE", "BE", "NL")
TRANSITIONS = [f"t{i}" for i in range(1, 12)]

CAMPAIGN: dict[str, Any] = {
    "id": "reference",
    "name": "Reference campaign",
    "description": "The benchmark's reference campaign.",
    "activities": [
        {
            "id": "members",
            "type": "build_audience",
            "where": "country IN ('FR', 'DE', 'BE', 'NL') AND "
            "created_at >= TIMESTAMP '2021-01-01 00:00:00'",
        },
        {
            "id": "spend",
            "type": "enrichment",
            "attributes": [
                {
                    "name": "orders_90d",
                    "link": "purchases",
                    "aggregate": "count",
                    "where": "purchased_at >= TIMESTAMP '2026-09-02 00:00:00'",
                },
                {
                    "name": "spend_90d",
                    "link": "purchases",
                    "aggregate": "sum",
                    "column": "amount",
                    "default": 0,
                    "where": "purchased_at >= TIMESTAMP '2026-09-02 00:00:00'",
                },
                {
                    "name": "last_purchase",
                    "link": "purchases",
                    "aggregate": "max",
                    "column": "purchased_at",
                },
            ],
        },
        {
            "id": "dedup",
            "type": "deduplication",
            "keys": ["email"],
            "order_by": ["spend_90d DESC"],
        },
        {
            "id": "segments",
            "type": "split",
            "complement": True,
            "subsets": [
                {"label": "big", "where": "spend_90d >= 500"},
                {"label": "fr", "where": "country = 'FR'"},
            ],
        },
        {
            "id": "recent",
            "type": "build_audience",
            "where": "profile_id IN (SELECT profile_id FROM purchases "
            "WHERE purchased_at >= TIMESTAMP '2026-11-01 00:00:00')",
        },
        {"id": "lapsed", "type": "combine", "mode": "exclusion", "primary": "t6"},
        {
            "id": "mail",
            "type": "email",
            "subject": "Thanks {{ first_name }}",
            "body": "<p>Thank you</p>",
        },
        {"id": "text", "type": "sms", "body": "Bonjour {{ first_name }}"},
        {"id": "nudge", "type": "push", "title": "We miss you", "body": "Come back"},
        {"id": "end", "type": "end"},
    ],
    "transitions": [
        {"id": "t1", "from": "members", "to": "spend"},
        {"id": "t2", "from": "spend", "to": "dedup"},
        {"id": "t3", "from": "dedup", "to": "segments"},
        {"id": "t4", "from": "segments", "port": "big", "to": "mail"},
        {"id": "t5", "from": "segments", "port": "fr", "to": "text"},
        {"id": "t6", "from": "segments", "port": "complement", "to": "lapsed"},
        {"id": "t7", "from": "recent", "to": "lapsed"},
        {"id": "t8", "from": "lapsed", "to": "nudge"},
        {"id": "t9", "from": "mail", "to": "end"},
        {"id": "t10", "from": "text", "to": "end"},
        {"id": "t11", "from": "nudge", "to": "end"},
    ],
}


def folder_for(profiles: int, seed: int) -> Path:
    return CACHE / f"sample-{profiles}-{seed}"


def prepare(profiles: int, seed: int) -> Path:
    """Generate the sample workspace once per size and seed."""
    import ajo_workbench as ajo

    folder = folder_for(profiles, seed)
    if not (folder / "tables" / "purchases.parquet").exists():
        started = time.perf_counter()
        ajo.Workspace(folder).generate_sample_data(profiles=profiles, seed=seed)
        print(
            f"generated {profiles:,} profiles in {time.perf_counter() - started:.1f} s"
        )
    return folder


# -- the four implementations ---------------------------------------------------


def run_engine(folder: Path) -> dict[str, int]:
    import ajo_workbench as ajo

    workspace = ajo.Workspace(folder)
    campaign = workspace.load_campaign(CAMPAIGN)
    run = campaign.start().wait()
    if run.state != "finished":
        raise RuntimeError(f"the engine's execution ended {run.state}: {run.error}")
    return {t: run.count(t) for t in TRANSITIONS}


def run_polars(folder: Path) -> dict[str, int]:
    import polars as pl

    tables = folder / "tables"
    profiles = pl.scan_parquet(tables / "profiles.parquet")
    purchases = pl.scan_parquet(tables / "purchases.parquet")

    members = profiles.filter(
        pl.col("country").is_in(COUNTRIES) & (pl.col("created_at") >= CREATED)
    ).select(
        "profile_id",
        "email",
        "country",
        "phone",
        "sms_consent",
        "email_consent",
        "push_token",
        "push_consent",
    )
    window = (
        purchases.filter(pl.col("purchased_at") >= WINDOW)
        .group_by("profile_id")
        .agg(pl.len().alias("orders"), pl.col("amount").sum().alias("spend"))
    )
    enriched = members.join(window, on="profile_id", how="left").with_columns(
        pl.col("spend").fill_null(0.0)
    )
    with_email = (
        enriched.filter(pl.col("email").is_not_null())
        .sort(["spend", "profile_id"], descending=[True, False])
        .unique("email", keep="first")
    )
    deduplicated = pl.concat([with_email, enriched.filter(pl.col("email").is_null())])
    recent = (
        purchases.filter(pl.col("purchased_at") >= RECENT)
        .select("profile_id")
        .unique()
        .join(profiles.select("profile_id"), on="profile_id", how="semi")
    )
    flagged = deduplicated.join(
        recent.with_columns(recent_buyer=pl.lit(True)), on="profile_id", how="left"
    )

    def reachable(address: str, consent: str) -> pl.Expr:
        return pl.col(address).is_not_null() & (pl.col(address) != "") & pl.col(consent)

    big = pl.col("spend") >= 500
    french = ~big & (pl.col("country") == "FR")
    complement = ~big & (pl.col("country") != "FR")
    lapsed = complement & pl.col("recent_buyer").is_null()
    counts = flagged.select(
        pl.len().alias("t3"),
        big.sum().alias("t4"),
        french.sum().alias("t5"),
        complement.sum().alias("t6"),
        lapsed.sum().alias("t8"),
        (big & reachable("email", "email_consent")).sum().alias("t9"),
        (french & reachable("phone", "sms_consent")).sum().alias("t10"),
        (lapsed & reachable("push_token", "push_consent")).sum().alias("t11"),
    )
    query = pl.concat(
        [
            enriched.select(pl.len().alias("t1"), pl.len().alias("t2")),
            counts,
            recent.select(pl.len().alias("t7")),
        ],
        how="horizontal",
    )
    row = query.collect().row(0, named=True)
    return {t: int(row[t]) for t in TRANSITIONS}


def run_duckdb(folder: Path) -> dict[str, int]:
    import duckdb

    tables = folder / "tables"
    sql = f"""
    WITH
    members AS (
        SELECT profile_id, email, country, phone, sms_consent, email_consent,
               push_token, push_consent
        FROM read_parquet('{tables / "profiles.parquet"}')
        WHERE country IN ('FR', 'DE', 'BE', 'NL')
          AND created_at >= TIMESTAMP '2021-01-01 00:00:00'),
    window_spend AS (
        SELECT profile_id, count(*) AS orders, sum(amount) AS spend
        FROM read_parquet('{tables / "purchases.parquet"}')
        WHERE purchased_at >= TIMESTAMP '2026-09-02 00:00:00'
        GROUP BY profile_id),
    enriched AS (
        SELECT m.*, coalesce(w.spend, 0) AS spend
        FROM members m LEFT JOIN window_spend w USING (profile_id)),
    ranked AS (
        SELECT *, row_number() OVER (
            PARTITION BY email ORDER BY spend DESC, profile_id) AS r
        FROM enriched),
    dedup AS (SELECT * FROM ranked WHERE email IS NULL OR r = 1),
    big AS (SELECT * FROM dedup WHERE spend >= 500),
    rest AS (SELECT * FROM dedup WHERE spend < 500),
    fr AS (SELECT * FROM rest WHERE country = 'FR'),
    complement AS (SELECT * FROM rest WHERE country <> 'FR'),
    recent AS (
        SELECT profile_id FROM read_parquet('{tables / "profiles.parquet"}')
        WHERE profile_id IN (
            SELECT profile_id FROM read_parquet('{tables / "purchases.parquet"}')
            WHERE purchased_at >= TIMESTAMP '2026-11-01 00:00:00')),
    lapsed AS (
        SELECT * FROM complement
        WHERE profile_id NOT IN (SELECT profile_id FROM recent))
    SELECT
        (SELECT count(*) FROM members),
        (SELECT count(*) FROM enriched),
        (SELECT count(*) FROM dedup),
        (SELECT count(*) FROM big),
        (SELECT count(*) FROM fr),
        (SELECT count(*) FROM complement),
        (SELECT count(*) FROM recent),
        (SELECT count(*) FROM lapsed),
        (SELECT count(*) FROM big WHERE email IS NOT NULL AND email <> ''
            AND email_consent),
        (SELECT count(*) FROM fr WHERE phone IS NOT NULL AND phone <> ''
            AND sms_consent),
        (SELECT count(*) FROM lapsed WHERE push_token IS NOT NULL
            AND push_token <> '' AND push_consent)
    """
    row = duckdb.connect().execute(sql).fetchone()
    assert row is not None
    return {t: int(v) for t, v in zip(TRANSITIONS, row, strict=True)}


def run_pandas(folder: Path) -> dict[str, int]:
    import pandas as pd

    tables = folder / "tables"
    profiles = pd.read_parquet(tables / "profiles.parquet")
    purchases = pd.read_parquet(
        tables / "purchases.parquet", columns=["profile_id", "amount", "purchased_at"]
    )
    members = profiles[
        profiles["country"].isin(COUNTRIES) & (profiles["created_at"] >= CREATED)
    ]
    window = purchases[purchases["purchased_at"] >= WINDOW]
    spend = window.groupby("profile_id")["amount"].agg(["size", "sum"])
    enriched = members.merge(spend, left_on="profile_id", right_index=True, how="left")
    enriched["sum"] = enriched["sum"].fillna(0.0)
    ordered = enriched.sort_values(["sum", "profile_id"], ascending=[False, True])
    has_email = ordered["email"].notna()
    kept = ordered[has_email].drop_duplicates("email", keep="first")
    deduplicated = pd.concat([kept, ordered[~has_email]])
    big = deduplicated[deduplicated["sum"] >= 500]
    rest = deduplicated[deduplicated["sum"] < 500]
    french = rest[rest["country"] == "FR"]
    complement = rest[rest["country"] != "FR"]
    buyers = purchases.loc[purchases["purchased_at"] >= RECENT, "profile_id"].unique()
    recent = profiles.loc[profiles["profile_id"].isin(buyers), "profile_id"]
    lapsed = complement[~complement["profile_id"].isin(recent)]

    def reachable(frame: pd.DataFrame, address: str, consent: str) -> int:
        ok = frame[address].notna() & (frame[address] != "") & frame[consent]
        return int(ok.sum())

    return {
        "t1": len(members),
        "t2": len(enriched),
        "t3": len(deduplicated),
        "t4": len(big),
        "t5": len(french),
        "t6": len(complement),
        "t7": len(recent),
        "t8": len(lapsed),
        "t9": reachable(big, "email", "email_consent"),
        "t10": reachable(french, "phone", "sms_consent"),
        "t11": reachable(lapsed, "push_token", "push_consent"),
    }


IMPLEMENTATIONS: dict[str, Callable[[Path], dict[str, int]]] = {
    "ajo-workbench": run_engine,
    "polars (hand-written)": run_polars,
    "duckdb": run_duckdb,
    "pandas": run_pandas,
}


# -- driver -----------------------------------------------------------------------


PRELOAD = {
    "ajo-workbench": "ajo_workbench",
    "polars (hand-written)": "polars",
    "duckdb": "duckdb",
    "pandas": "pandas",
}


def worker(name: str, folder: Path) -> None:
    """Run one implementation once and print its counts, time and peak memory.

    The implementation's library is imported before the clock starts.
    """
    importlib.import_module(PRELOAD[name])
    started = time.perf_counter()
    counts = IMPLEMENTATIONS[name](folder)
    seconds = time.perf_counter() - started
    print(json.dumps({"counts": counts, "seconds": seconds, "peak_mib": peak_mib()}))


def peak_mib() -> float:
    """The process's peak resident memory, from ``VmHWM`` in ``/proc/self/status``.

    ``getrusage`` would also count what the parent process held when it forked.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, folder: Path) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode:
        raise RuntimeError(f"{name} failed:\n{output.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", action="append", choices=list(IMPLEMENTATIONS))
    parser.add_argument("--worker", choices=list(IMPLEMENTATIONS))
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.folder)
        return

    names = args.only or list(IMPLEMENTATIONS)
    lines = ["| profiles | engine | median s | min-max s | x polars | peak MiB |"]
    lines.append("|---|---|---|---|---|---|")
    verdicts = []
    for profiles in args.profiles:
        medians, peaks = compare(profiles, args.seed, args.runs, names, lines)
        verdicts.append(targets(profiles, medians, peaks))
    print("\n" + "\n".join(lines) + "\n")
    print("\n".join(verdicts))


def compare(
    profiles: int, seed: int, runs: int, names: list[str], lines: list[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Run every implementation ``runs`` times on one size; add its table rows."""
    folder = prepare(profiles, seed)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            results[name].append(measure(name, folder))

    reference = results[names[0]][0]["counts"]
    for name in names:
        for result in results[name]:
            if result["counts"] != reference:
                raise SystemExit(
                    f"counts differ: {name} {result['counts']} != {reference}"
                )
    print(f"\n{profiles:,} profiles, {runs} runs each; all counts agree:")
    print(f"  {reference}")
    medians = {n: statistics.median(r["seconds"] for r in results[n]) for n in names}
    peaks = {n: max(r["peak_mib"] for r in results[n]) for n in names}
    base = medians.get("polars (hand-written)", medians[names[0]])
    for name in names:
        seconds = [r["seconds"] for r in results[name]]
        lines.append(
            f"| {profiles:,} | {name} | {medians[name]:.2f} "
            f"| {min(seconds):.2f}-{max(seconds):.2f} "
            f"| {medians[name] / base:.2f} | {peaks[name]:,.0f} |"
        )
    return medians, peaks


def targets(profiles: int, medians: dict[str, float], peaks: dict[str, float]) -> str:
    """Whether the engine met the targets at one size (when all four ran)."""
    engine = "ajo-workbench"
    if set(medians) != set(IMPLEMENTATIONS):
        return f"{profiles:,}: targets not checked (not every implementation ran)"
    checks = {
        "within 2x hand-written polars": medians[engine]
        <= 2 * medians["polars (hand-written)"],
        "faster than DuckDB": medians[engine] < medians["duckdb"],
        "faster than pandas": medians[engine] < medians["pandas"],
    }
    if profiles >= 10_000_000:
        checks["peak under 3 GB"] = peaks[engine] < 3 * 1024
    said = "; ".join(f"{k}: {'yes' if ok else 'NO'}" for k, ok in checks.items())
    return f"{profiles:,} profiles: {said}"


if __name__ == "__main__":
    main()

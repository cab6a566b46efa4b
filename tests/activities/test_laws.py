"""Activity laws, checked on generated populations (hypothesis)."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from memory_tables import MemoryTables, run_activity

COUNTRIES = ["FR", "BE", "DE", None]
CONDITIONS = [
    "country = 'FR'",
    "country IN ('FR', 'BE')",
    "score >= 50",
    "score < 20 OR country IS NULL",
    "email LIKE '%a%'",
    "profile_id IN (SELECT profile_id FROM purchases WHERE amount >= 10)",
]

profile_rows = st.lists(
    st.tuples(
        st.sampled_from(COUNTRIES),
        st.integers(0, 100),
        st.sampled_from(["a@x", "b@x", "c@y", None]),
    ),
    min_size=0,
    max_size=40,
)
purchase_rows = st.lists(st.tuples(st.integers(1, 45), st.integers(1, 40)), max_size=60)


def make_tables(
    rows: list[tuple[str | None, int, str | None]], purchases: list[tuple[int, int]]
) -> MemoryTables:
    profiles = pl.DataFrame(
        {
            "profile_id": list(range(1, len(rows) + 1)),
            "country": [r[0] for r in rows],
            "score": [r[1] for r in rows],
            "email": [r[2] for r in rows],
        },
        schema={
            "profile_id": pl.Int64,
            "country": pl.String,
            "score": pl.Int64,
            "email": pl.String,
        },
    )
    bought = pl.DataFrame(
        {
            "purchase_id": list(range(1, len(purchases) + 1)),
            "profile_id": [p[0] for p in purchases],
            "amount": [float(p[1]) for p in purchases],
        },
        schema={"purchase_id": pl.Int64, "profile_id": pl.Int64, "amount": pl.Float64},
    )
    return MemoryTables(
        {"profiles": profiles, "purchases": bought},
        {"profiles": "profile_id", "purchases": "purchase_id"},
        {"purchases": {"profile_id": "profiles"}},
    )


def keys(frame: pl.DataFrame) -> list[int]:
    return frame["profile_id"].to_list()


def matching(tables: MemoryTables, condition: str) -> set[int]:
    context = pl.SQLContext(frames=tables.scans())
    rows = context.execute(f"SELECT profile_id FROM profiles WHERE {condition}")
    return set(rows.collect()["profile_id"].to_list())


subset_specs = st.lists(
    st.tuples(
        st.sampled_from(CONDITIONS),
        st.one_of(st.none(), st.integers(0, 10)),
        st.one_of(st.none(), st.sampled_from([0, 12.5, 50, 100])),
    ),
    min_size=1,
    max_size=4,
)


def subsets_of(
    specs: list[tuple[str, int | None, float | None]], random: bool = False
) -> list[dict[str, object]]:
    """Split subsets: a limit ordered by score, or a percentage (drawn at random)."""
    subsets: list[dict[str, object]] = []
    for index, (condition, limit, percent) in enumerate(specs):
        subset: dict[str, object] = {"label": f"s{index}", "where": condition}
        if limit is not None:
            subset.update(limit=limit, order_by=["score DESC"])
        elif percent is not None:
            subset["limit_percent"] = percent
            if random:
                subset.update(random=True, seed=index)
        subsets.append(subset)
    return subsets


@settings(max_examples=60, deadline=None)
@given(profile_rows, purchase_rows, subset_specs, st.booleans())
def test_split_outputs_are_disjoint_and_cover_the_input(
    rows: list[tuple[str | None, int, str | None]],
    purchases: list[tuple[int, int]],
    specs: list[tuple[str, int | None, float | None]],
    overlapping: bool,
) -> None:
    tables = make_tables(rows, purchases)
    population = tables.frames["profiles"].select("profile_id")
    subsets = subsets_of(specs)

    outputs = run_activity(
        tables,
        "split",
        [population],
        subsets=subsets,
        complement=True,
        overlapping=overlapping,
    )

    seen: set[int] = set()
    for subset in subsets:
        chosen = keys(outputs[str(subset["label"])])
        assert len(chosen) == len(set(chosen))
        assert set(chosen) <= matching(tables, str(subset["where"]))
        if "limit" in subset:
            assert len(chosen) <= int(str(subset["limit"]))
        if not overlapping:
            assert not seen & set(chosen)
        seen |= set(chosen)
    complement = set(keys(outputs["complement"]))
    assert not complement & seen
    assert complement | seen == set(keys(population))


@settings(max_examples=40, deadline=None)
@given(profile_rows)
def test_split_limit_percent_takes_the_floor(
    rows: list[tuple[str | None, int, str | None]],
) -> None:
    tables = make_tables(rows, [])
    population = tables.frames["profiles"].select("profile_id")
    outputs = run_activity(
        tables,
        "split",
        [population],
        subsets=[{"label": "a", "where": "score >= 30", "limit_percent": 12.5}],
    )
    matched = len(matching(tables, "score >= 30"))
    assert outputs["a"].height == (matched * 125) // 1000


key_sets = st.lists(st.sets(st.integers(1, 30), max_size=20), min_size=2, max_size=4)
KEY = {"profile_id": pl.Int64}


def frame_of(values: set[int], tag: str) -> pl.DataFrame:
    ordered = sorted(values)
    return pl.DataFrame(
        {"profile_id": ordered, "source": [tag] * len(ordered)},
        schema={"profile_id": pl.Int64, "source": pl.String},
    )


@settings(max_examples=60, deadline=None)
@given(key_sets)
def test_combine_obeys_set_laws(sets: list[set[int]]) -> None:
    tables = make_tables([("FR", 1, None)] * 30, [])
    inputs = [frame_of(values, f"t{i}") for i, values in enumerate(sets, start=1)]
    union = set().union(*sets)
    common = set.intersection(*sets)

    out = run_activity(tables, "combine", inputs, mode="union")["out"]
    assert sorted(keys(out)) == sorted(union)
    first_source = {}
    for i, values in enumerate(sets, start=1):
        for value in values:
            first_source.setdefault(value, f"t{i}")
    assert dict(zip(keys(out), out["source"].to_list(), strict=True)) == first_source

    both = run_activity(tables, "combine", inputs, mode="intersection")
    assert set(keys(both["out"])) == common
    assert set(keys(both["complement"])) == union - common

    excluded = run_activity(tables, "combine", inputs, mode="exclusion", primary="t1")
    others = set().union(*sets[1:])
    assert set(keys(excluded["out"])) == sets[0] - others
    assert set(keys(excluded["complement"])) == sets[0] & others


@settings(max_examples=60, deadline=None)
@given(profile_rows, st.sampled_from(["first", "last"]))
def test_deduplication_is_idempotent_and_keeps_nulls(
    rows: list[tuple[str | None, int, str | None]], keep: str
) -> None:
    tables = make_tables(rows, [])
    population = tables.frames["profiles"].select("profile_id")
    settings_ = {"keys": ["email"], "keep": keep, "order_by": ["score DESC"]}

    once = run_activity(tables, "deduplication", [population], **settings_)
    twice = run_activity(tables, "deduplication", [once["out"]], **settings_)

    assert keys(twice["out"]) == keys(once["out"])
    assert twice["complement"].height == 0
    assert sorted(keys(once["out"]) + keys(once["complement"])) == keys(population)
    profiles = tables.frames["profiles"]
    kept = profiles.filter(pl.col("profile_id").is_in(keys(once["out"])))
    emails = kept["email"].drop_nulls().to_list()
    assert len(emails) == len(set(emails))
    assert kept["email"].null_count() == profiles["email"].null_count()


def test_deduplication_keeps_the_best_row_by_order() -> None:
    rows = [("FR", 10, "a@x"), ("FR", 90, "a@x"), ("BE", 90, "a@x"), ("DE", 5, None)]
    tables = make_tables(rows, [])
    population = tables.frames["profiles"].select("profile_id")
    first = run_activity(
        tables, "deduplication", [population], keys=["email"], order_by=["score DESC"]
    )
    # score ties between 2 and 3 are broken by the key: 2 comes first.
    assert keys(first["out"]) == [2, 4]
    assert keys(first["complement"]) == [1, 3]
    last = run_activity(
        tables,
        "deduplication",
        [population],
        keys=["email"],
        keep="last",
        order_by=["score DESC"],
    )
    assert keys(last["out"]) == [1, 4]


@settings(max_examples=60, deadline=None)
@given(profile_rows, purchase_rows)
def test_enrichment_keeps_every_row(
    rows: list[tuple[str | None, int, str | None]],
    purchases: list[tuple[int, int]],
) -> None:
    tables = make_tables(rows, purchases)
    population = tables.frames["profiles"].select("profile_id").reverse()
    out = run_activity(
        tables,
        "enrichment",
        [population],
        attributes=[
            {
                "name": "n",
                "link": "purchases",
                "aggregate": "count",
                "where": "amount >= 10",
            },
            {
                "name": "total",
                "link": "purchases",
                "aggregate": "sum",
                "column": "amount",
            },
            {
                "name": "top",
                "link": "purchases",
                "aggregate": "max",
                "column": "amount",
                "default": -1.0,
            },
        ],
    )["out"]

    assert keys(out) == keys(population)
    for profile_id, n, total, top in out.iter_rows():
        amounts = [float(a) for p, a in purchases if p == profile_id]
        assert n == len([a for a in amounts if a >= 10])
        assert total == (sum(amounts) if amounts else None)
        assert top == (max(amounts) if amounts else -1.0)


@settings(max_examples=60, deadline=None)
@given(profile_rows, purchase_rows)
def test_enrichment_filtered_aggregates_of_no_rows_are_null(
    rows: list[tuple[str | None, int, str | None]],
    purchases: list[tuple[int, int]],
) -> None:
    tables = make_tables(rows, purchases)
    population = tables.frames["profiles"].select("profile_id")
    big = "amount >= 20"
    out = run_activity(
        tables,
        "enrichment",
        [population],
        attributes=[
            {
                "name": "low",
                "link": "purchases",
                "aggregate": "min",
                "column": "amount",
            },
            {
                "name": "avg",
                "link": "purchases",
                "aggregate": "mean",
                "column": "amount",
                "where": big,
            },
            {
                "name": "big_total",
                "link": "purchases",
                "aggregate": "sum",
                "column": "amount",
                "where": big,
            },
            {
                "name": "big_count",
                "link": "purchases",
                "aggregate": "count",
                "where": big,
            },
        ],
    )["out"]

    assert keys(out) == keys(population)
    for profile_id, low, avg, big_total, big_count in out.iter_rows():
        amounts = [float(a) for p, a in purchases if p == profile_id]
        large = [a for a in amounts if a >= 20]
        assert low == (min(amounts) if amounts else None)
        assert avg == (sum(large) / len(large) if large else None)
        assert big_total == (sum(large) if large else None)
        assert big_count == len(large)


def test_enrichment_lookup_over_a_one_to_one_link() -> None:
    tables = make_tables([("FR", 1, "a@x"), ("BE", 2, None)], [(2, 5), (1, 7)])
    population = tables.frames["purchases"].select("purchase_id")
    out = run_activity(
        tables,
        "enrichment",
        [population],
        dimension="purchases",
        attributes=[{"name": "buyer_country", "link": "profiles", "column": "country"}],
    )["out"]
    assert out.rows() == [(1, "BE"), (2, "FR")]


def carrying(tables: MemoryTables, population: pl.DataFrame) -> pl.DataFrame:
    """The population with every profile attribute joined, as sources carry them."""
    profiles = tables.frames["profiles"]
    return population.join(profiles, on="profile_id", how="left")


@settings(max_examples=60, deadline=None)
@given(profile_rows, purchase_rows, subset_specs, st.booleans())
def test_carried_attributes_never_change_a_split(
    rows: list[tuple[str | None, int, str | None]],
    purchases: list[tuple[int, int]],
    specs: list[tuple[str, int | None, float | None]],
    overlapping: bool,
) -> None:
    tables = make_tables(rows, purchases)
    population = tables.frames["profiles"].select("profile_id")
    subsets = subsets_of(specs, random=True)
    options = {"subsets": subsets, "complement": True, "overlapping": overlapping}

    lean = run_activity(tables, "split", [population], **options)
    wide = run_activity(tables, "split", [carrying(tables, population)], **options)
    assert lean.keys() == wide.keys()
    for port, frame in lean.items():
        assert keys(wide[port]) == keys(frame)


@settings(max_examples=60, deadline=None)
@given(profile_rows, st.sampled_from(["first", "last"]), key_sets)
def test_carried_attributes_never_change_dedup_or_combine(
    rows: list[tuple[str | None, int, str | None]],
    keep: str,
    sets: list[set[int]],
) -> None:
    tables = make_tables(rows, [])
    population = tables.frames["profiles"].select("profile_id")
    options = {"keys": ["email"], "keep": keep, "order_by": ["score DESC"]}
    lean = run_activity(tables, "deduplication", [population], **options)
    wide = run_activity(
        tables, "deduplication", [carrying(tables, population)], **options
    )
    for port in ("out", "complement"):
        assert keys(wide[port]) == keys(lean[port])

    inputs = [pl.DataFrame({"profile_id": sorted(s)}, schema=KEY) for s in sets]
    for mode in ("union", "intersection", "exclusion"):
        extra = {"primary": "t1"} if mode == "exclusion" else {}
        plain = run_activity(tables, "combine", inputs, mode=mode, **extra)
        # Inputs carrying different attributes: some all of them, some none.
        carried = [
            carrying(tables, frame) if i % 2 == 0 else frame
            for i, frame in enumerate(inputs)
        ]
        other = run_activity(tables, "combine", carried, mode=mode, **extra)
        for port, frame in plain.items():
            assert sorted(keys(other[port])) == sorted(keys(frame))
            # Whatever attributes an output carries hold the profile's values.
            truth = carrying(tables, other[port].select("profile_id"))
            assert other[port].equals(truth.select(other[port].columns))


def test_random_limits_depend_on_the_seed_alone() -> None:
    rows = [("FR", i, None) for i in range(40)]
    tables = make_tables(rows, [])
    population = tables.frames["profiles"].select("profile_id")

    def chosen(seed: int, frame: pl.DataFrame = population) -> list[int]:
        subset = {"label": "s", "where": "country = 'FR'", "limit": 10}
        subset.update(random=True, seed=seed)
        outputs = run_activity(tables, "split", [frame], subsets=[subset])
        return sorted(keys(outputs["s"]))

    assert len(chosen(1)) == 10
    assert chosen(1) == chosen(1)
    assert chosen(1) == chosen(1, population.reverse())  # not the input's order
    assert chosen(1) != chosen(2)
    assert chosen(1) != list(range(1, 11))  # not simply the first rows

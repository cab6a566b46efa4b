"""Tests of the deterministic sample data generator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from ajo_workbench.errors import DataError
from ajo_workbench.storage.sample import generate_sample_frames

PROFILES = 20_000
SEED = 7
REFERENCE = datetime(2026, 12, 1)


def _stat(frame: pl.DataFrame, expression: pl.Expr) -> Any:
    """Evaluate one aggregate expression on frame and return the plain value."""
    return frame.select(expression).item()


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return generate_sample_frames(PROFILES, SEED)


def test_same_seed_gives_identical_frames(frames: dict[str, pl.DataFrame]) -> None:
    again = generate_sample_frames(PROFILES, SEED)

    assert again.keys() == frames.keys()
    for name, frame in frames.items():
        assert again[name].equals(frame), name


def test_different_seed_gives_different_frames(
    frames: dict[str, pl.DataFrame],
) -> None:
    other = generate_sample_frames(PROFILES, SEED + 1)

    for name, frame in frames.items():
        assert not other[name].equals(frame), name


def test_schemas_are_exact(frames: dict[str, pl.DataFrame]) -> None:
    assert frames["profiles"].schema == pl.Schema(
        {
            "profile_id": pl.Int64(),
            "email": pl.String(),
            "phone": pl.String(),
            "push_token": pl.String(),
            "first_name": pl.String(),
            "last_name": pl.String(),
            "country": pl.String(),
            "city": pl.String(),
            "birth_date": pl.Date(),
            "loyalty_tier": pl.String(),
            "created_at": pl.Datetime("us"),
            "email_consent": pl.Boolean(),
            "sms_consent": pl.Boolean(),
            "push_consent": pl.Boolean(),
        }
    )
    assert frames["purchases"].schema == pl.Schema(
        {
            "purchase_id": pl.Int64(),
            "profile_id": pl.Int64(),
            "product_id": pl.Int64(),
            "quantity": pl.Int32(),
            "amount": pl.Float64(),
            "purchased_at": pl.Datetime("us"),
        }
    )
    assert frames["products"].schema == pl.Schema(
        {
            "product_id": pl.Int64(),
            "name": pl.String(),
            "category": pl.String(),
            "price": pl.Float64(),
        }
    )


def test_sizes_and_ids(frames: dict[str, pl.DataFrame]) -> None:
    profiles, purchases = frames["profiles"], frames["purchases"]

    assert profiles["profile_id"].to_list() == list(range(1, PROFILES + 1))
    assert purchases.height == PROFILES * 5
    assert purchases["purchase_id"].to_list() == list(range(1, purchases.height + 1))
    assert 150 <= frames["products"].height <= 250
    assert frames["products"]["product_id"].is_unique().all()


def test_referential_integrity(frames: dict[str, pl.DataFrame]) -> None:
    purchases = frames["purchases"]
    profiles = frames["profiles"].select("profile_id")
    products = frames["products"].select("product_id")

    assert purchases.join(profiles, on="profile_id", how="anti").height == 0
    assert purchases.join(products, on="product_id", how="anti").height == 0


def test_amounts_are_quantity_times_price_in_quarters(
    frames: dict[str, pl.DataFrame],
) -> None:
    priced = frames["purchases"].join(frames["products"], on="product_id")

    assert ((frames["products"]["price"] * 4) % 1 == 0).all()
    assert ((priced["amount"] * 4) % 1 == 0).all()
    assert (priced["amount"] == priced["quantity"] * priced["price"]).all()
    assert priced["quantity"].is_between(1, 5).all()


def test_about_a_quarter_of_phones_missing(frames: dict[str, pl.DataFrame]) -> None:
    missing = _stat(frames["profiles"], pl.col("phone").is_null().mean())

    assert 0.22 <= missing <= 0.28


def test_about_half_of_push_tokens_missing(frames: dict[str, pl.DataFrame]) -> None:
    missing = _stat(frames["profiles"], pl.col("push_token").is_null().mean())

    assert 0.46 <= missing <= 0.54


def test_emails_are_lower_case_and_some_are_shared(
    frames: dict[str, pl.DataFrame],
) -> None:
    emails = frames["profiles"]["email"]
    shared_rows = 1 - emails.n_unique() / emails.len()

    assert emails.null_count() == 0
    assert (emails == emails.str.to_lowercase()).all()
    assert emails.str.contains(r"^[a-z-]+\.[a-z-]+\d+@example\.(com|org|net)$").all()
    assert 0.01 <= shared_rows <= 0.03


def test_consent_is_false_where_address_is_missing(
    frames: dict[str, pl.DataFrame],
) -> None:
    profiles = frames["profiles"]
    no_phone = profiles.filter(pl.col("phone").is_null())
    no_token = profiles.filter(pl.col("push_token").is_null())

    assert not no_phone["sms_consent"].any()
    assert not no_token["push_consent"].any()
    assert 0.75 <= _stat(profiles, pl.col("email_consent").mean()) <= 0.85


def test_cities_are_consistent_with_countries(
    frames: dict[str, pl.DataFrame],
) -> None:
    pairs = frames["profiles"].group_by("city").agg(pl.col("country").n_unique())

    assert (pairs["country"] == 1).all()


def test_times_are_not_after_reference(frames: dict[str, pl.DataFrame]) -> None:
    purchased = pl.col("purchased_at")
    created = pl.col("created_at")

    assert _stat(frames["purchases"], purchased.max()) <= REFERENCE
    assert _stat(frames["purchases"], purchased.min()) >= datetime(2024, 12, 1)
    assert _stat(frames["profiles"], created.max()) <= REFERENCE
    assert _stat(frames["profiles"], created.min()) >= datetime(2019, 1, 1)


def test_spend_is_skewed(frames: dict[str, pl.DataFrame]) -> None:
    counts = frames["purchases"].group_by("profile_id").len()

    assert counts.height < PROFILES
    assert _stat(counts, pl.col("len").max()) > 10 * 5


def test_custom_reference_bounds_purchases() -> None:
    reference = datetime(2021, 6, 15, 12, 30)
    frames = generate_sample_frames(500, 3, 2.5, reference=reference)

    assert frames["purchases"].height == 1250
    assert _stat(frames["purchases"], pl.col("purchased_at").max()) <= reference
    assert _stat(frames["profiles"], pl.col("created_at").max()) <= reference


def test_single_profile_and_no_purchases() -> None:
    frames = generate_sample_frames(1, 0, purchases_per_profile=0.0)

    assert frames["profiles"].height == 1
    assert frames["purchases"].height == 0
    assert frames["purchases"]["quantity"].dtype == pl.Int32


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"profiles": 0, "seed": 1}, "profiles must be an integer of at least 1"),
        ({"profiles": -5, "seed": 1}, "got -5"),
        ({"profiles": 10, "seed": -1}, "seed must be a non-negative integer"),
        (
            {"profiles": 10, "seed": 1, "purchases_per_profile": -0.5},
            "purchases_per_profile must be a finite number of at least 0",
        ),
        (
            {"profiles": 10, "seed": 1, "purchases_per_profile": float("nan")},
            "purchases_per_profile must be a finite number",
        ),
        (
            {
                "profiles": 10,
                "seed": 1,
                "reference": datetime(2026, 1, 1, tzinfo=UTC),
            },
            "reference must be a naive datetime",
        ),
    ],
)
def test_bad_arguments_raise_data_error(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        generate_sample_frames(**arguments)  # type: ignore[arg-type]

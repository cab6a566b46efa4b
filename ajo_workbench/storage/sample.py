"""Deterministic sample data: profiles, purchases and products.

The frames look like the extract of a retail customer base: a skewed country
mix with consistent cities, partly missing phones and push tokens, consents
that are false where the address is missing, about 2% of profiles that repeat
the email of another profile (the same person signed up twice), a few heavy
buyers and many light ones, and a handful of best-selling products.

Everything is drawn from ``numpy.random.default_rng(seed)`` with vectorised
operations, so the same arguments always give the same frames and ten million
profiles take seconds, not minutes. Emails use the reserved ``example.*``
domains; phone numbers are random and may exist, so never send to them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ajo_workbench.errors import DataError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ByteArray = npt.NDArray[np.uint8]

DEFAULT_REFERENCE = datetime(2026, 12, 1)
EPOCH = datetime(1970, 1, 1)
CREATED_START = datetime(2019, 1, 1)
MICROSECOND = timedelta(microseconds=1)
SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
PURCHASE_WINDOW_US = 730 * DAY_US

FIRST_NAMES = (
    "Marie",
    "Camille",
    "Lea",
    "Julie",
    "Sophie",
    "Emma",
    "Chloe",
    "Laura",
    "Anna",
    "Sarah",
    "Lucia",
    "Giulia",
    "Sofia",
    "Hannah",
    "Lena",
    "Eva",
    "Olivia",
    "Emily",
    "Charlotte",
    "Ines",
    "Manon",
    "Clara",
    "Alice",
    "Elena",
    "Thomas",
    "Nicolas",
    "Julien",
    "Pierre",
    "Lucas",
    "Hugo",
    "Louis",
    "Antoine",
    "Maxime",
    "Alexandre",
    "David",
    "Daniel",
    "Marco",
    "Luca",
    "Pablo",
    "Javier",
    "Jan",
    "Lukas",
    "Felix",
    "James",
    "Oliver",
    "Noah",
    "Liam",
    "Sven",
    "Pieter",
    "Jean-Marc",
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Mercier",
    "Blanc",
    "Guerin",
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Lopez",
    "Martinez",
    "Sanchez",
    "Fernandez",
    "Gonzalez",
    "Janssens",
    "Peeters",
    "Maes",
    "Jansen",
    "Bakker",
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Johnson",
    "Williams",
    "Miller",
    "De Jong",
    "Van Damme",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
EMAIL_DOMAIN_WEIGHTS = (0.6, 0.25, 0.15)

# code, weight, dialling code, first national mobile number, span of numbers
COUNTRIES: tuple[tuple[str, float, str, int, int], ...] = (
    ("FR", 0.42, "33", 600_000_000, 200_000_000),
    ("DE", 0.12, "49", 1_500_000_000, 300_000_000),
    ("ES", 0.09, "34", 600_000_000, 100_000_000),
    ("GB", 0.09, "44", 7_400_000_000, 600_000_000),
    ("BE", 0.08, "32", 470_000_000, 30_000_000),
    ("IT", 0.08, "39", 3_200_000_000, 700_000_000),
    ("NL", 0.06, "31", 600_000_000, 100_000_000),
    ("US", 0.06, "1", 2_012_000_000, 7_900_000_000),
)
CITIES = {
    "FR": ("Paris", "Lyon", "Marseille", "Toulouse", "Lille"),
    "DE": ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt"),
    "ES": ("Madrid", "Barcelona", "Valencia", "Seville", "Bilbao"),
    "GB": ("London", "Manchester", "Birmingham", "Leeds", "Glasgow"),
    "BE": ("Brussels", "Antwerp", "Ghent", "Liege", "Namur"),
    "IT": ("Rome", "Milan", "Naples", "Turin", "Florence"),
    "NL": ("Amsterdam", "Rotterdam", "The Hague", "Utrecht", "Eindhoven"),
    "US": ("New York", "Los Angeles", "Chicago", "Houston", "Miami"),
}
CITY_WEIGHTS = (0.4, 0.22, 0.16, 0.12, 0.1)
CITIES_PER_COUNTRY = len(CITY_WEIGHTS)

LOYALTY_TIERS = ("none", "bronze", "silver", "gold", "platinum")
LOYALTY_SHARES = (0.52, 0.26, 0.12, 0.07, 0.03)

EMAIL_CONSENT_RATE = 0.8
SMS_CONSENT_RATE = 0.55
PUSH_CONSENT_RATE = 0.45
PHONE_RATE = 0.75
PUSH_TOKEN_RATE = 0.5
DUPLICATE_EMAIL_RATE = 0.02
ACTIVE_BUYER_RATE = 0.8
QUANTITY_WEIGHTS = (0.64, 0.2, 0.09, 0.045, 0.025)

PRODUCT_COUNT = 200
PRODUCT_ADJECTIVES = (
    "Classic",
    "Essential",
    "Premium",
    "Urban",
    "Everyday",
    "Organic",
    "Compact",
    "Signature",
    "Vintage",
    "Smart",
    "Light",
    "Deluxe",
)
# category, median price, nouns
CATEGORIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("apparel", 39.0, ("T-Shirt", "Hoodie", "Jacket", "Jeans", "Dress", "Scarf")),
    ("shoes", 79.0, ("Sneaker", "Boot", "Sandal", "Loafer", "Runner", "Slipper")),
    ("beauty", 24.0, ("Serum", "Cream", "Lipstick", "Perfume", "Mask", "Shampoo")),
    ("home", 45.0, ("Lamp", "Cushion", "Mug", "Blanket", "Vase", "Candle")),
    ("electronics", 149.0, ("Speaker", "Headset", "Charger", "Watch", "Tablet")),
    ("sports", 35.0, ("Yoga Mat", "Bottle", "Racket", "Ball", "Backpack", "Cap")),
    ("books", 16.0, ("Novel", "Cookbook", "Guide", "Atlas", "Comic", "Journal")),
    ("grocery", 6.0, ("Coffee", "Tea", "Chocolate", "Olive Oil", "Honey", "Jam")),
)

HEX_PAIRS = np.array([f"{value:02x}" for value in range(256)], dtype="S2")
PUSH_TOKEN_BYTES = 16
FEW_CATEGORIES = 8


PURCHASES_SCHEMA = pl.Schema(
    {
        "purchase_id": pl.Int64(),
        "profile_id": pl.Int64(),
        "product_id": pl.Int64(),
        "quantity": pl.Int32(),
        "amount": pl.Float64(),
        "purchased_at": pl.Datetime("us"),
    }
)


def generate_sample_frames(
    profiles: int,
    seed: int,
    purchases_per_profile: float = 5.0,
    reference: datetime | None = None,
) -> dict[str, pl.DataFrame]:
    """Generate deterministic sample profiles, purchases and products.

    Parameters
    ----------
    profiles : int
        Number of profiles, at least 1; ``profile_id`` runs from 1 to this.
    seed : int
        Non-negative seed of ``numpy.random.default_rng``; the same arguments
        always give equal frames.
    purchases_per_profile : float, default 5.0
        Average purchases per profile, at least 0. The purchase count is
        exactly ``round(profiles * purchases_per_profile)``, spread unevenly:
        about a fifth of the profiles never buy and a few buy a lot.
    reference : datetime or None, default None
        Naive "now" of the data set: profiles are created between 2019-01-01
        and it, purchases fall in the two years before it and never after.
        ``None`` means 2026-12-01 00:00:00, never the wall clock.

    Returns
    -------
    dict of str to polars.DataFrame
        ``"profiles"``, ``"purchases"`` and ``"products"``. Every
        ``profile_id`` and ``product_id`` of purchases exists, and every
        amount is quantity times price, a multiple of 0.25, so sums are exact.

    Raises
    ------
    DataError
        If profiles < 1, seed < 0, purchases_per_profile is negative or not
        finite, or reference is not a naive datetime.
    """
    _check_arguments(profiles, seed, purchases_per_profile, reference)
    ref = DEFAULT_REFERENCE if reference is None else reference
    ref_us = (ref - EPOCH) // MICROSECOND
    rng = np.random.default_rng(seed)

    products = _products(rng)
    draws = _profile_draws(rng, profiles, ref)
    profile_frame = _profiles_frame(rng, draws)

    count = round(profiles * purchases_per_profile)
    purchases = _purchases(rng, draws, products, count, ref_us)
    return {"profiles": profile_frame, "purchases": purchases, "products": products}


def _check_arguments(
    profiles: int, seed: int, purchases_per_profile: float, reference: object
) -> None:
    """Raise DataError when an argument of generate_sample_frames is wrong."""
    if isinstance(profiles, bool) or not isinstance(profiles, int) or profiles < 1:
        raise DataError(f"profiles must be an integer of at least 1, got {profiles!r}")

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")

    rate = purchases_per_profile
    if not isinstance(rate, int | float) or not math.isfinite(rate) or rate < 0:
        raise DataError(
            f"purchases_per_profile must be a finite number of at least 0, got {rate!r}"
        )

    if reference is not None and not _is_naive_datetime(reference):
        raise DataError(
            f"reference must be a naive datetime or None, got {reference!r}"
        )


def _is_naive_datetime(value: object) -> bool:
    """Tell whether value is a datetime without a time zone."""
    return isinstance(value, datetime) and value.tzinfo is None


def _pick(rng: np.random.Generator, weights: npt.ArrayLike, size: int) -> ByteArray:
    """Draw size codes 0..len(weights)-1, each as likely as its weight.

    At most 256 weights. Few categories are counted by comparisons, which is
    much faster than a binary search per draw.
    """
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    bounds = (cumulative[:-1] / cumulative[-1]).astype(np.float32)
    uniform = rng.random(size, dtype=np.float32)
    if len(bounds) > FEW_CATEGORIES:
        return np.searchsorted(bounds, uniform, side="right").astype(np.uint8)

    codes = np.zeros(size, dtype=np.uint8)
    for bound in bounds:
        codes += uniform >= bound
    return codes


def _zipf_weights(count: int, exponent: float) -> FloatArray:
    """Weights 1/rank**exponent for ranks 1..count: a few items get most."""
    return 1.0 / np.arange(1, count + 1, dtype=np.float64) ** exponent


def _lookup(values: list[str] | tuple[str, ...], codes: npt.NDArray[Any]) -> pl.Series:
    """Turn codes into the strings they index; strings share one small buffer."""
    return pl.Series(values, dtype=pl.String).gather(pl.Series(codes))


def _products(rng: np.random.Generator) -> pl.DataFrame:
    """Draw the product catalogue: names, categories and prices."""
    sizes = np.full(len(CATEGORIES), PRODUCT_COUNT // len(CATEGORIES))
    category = rng.permutation(np.repeat(np.arange(len(CATEGORIES)), sizes))

    names = np.empty(PRODUCT_COUNT, dtype=object)
    for code, (_, _, nouns) in enumerate(CATEGORIES):
        names[category == code] = _product_names(rng, nouns, int(sizes[code]))

    medians = np.array([median for _, median, _ in CATEGORIES])
    spread = rng.lognormal(0.0, 0.45, PRODUCT_COUNT)
    price = np.maximum(np.round(medians[category] * spread * 4.0) / 4.0, 0.25)

    return pl.DataFrame(
        {
            "product_id": np.arange(1, PRODUCT_COUNT + 1, dtype=np.int64),
            "name": pl.Series(names.tolist(), dtype=pl.String),
            "category": _lookup([name for name, _, _ in CATEGORIES], category),
            "price": price,
        }
    )


def _product_names(
    rng: np.random.Generator, nouns: tuple[str, ...], count: int
) -> list[str]:
    """Draw count distinct "Adjective Noun" names for one category."""
    combos = rng.choice(len(PRODUCT_ADJECTIVES) * len(nouns), count, replace=False)
    adjectives, noun_codes = np.divmod(combos, len(nouns))
    return [
        f"{PRODUCT_ADJECTIVES[adjective]} {nouns[noun]}"
        for adjective, noun in zip(adjectives, noun_codes, strict=True)
    ]


def _profile_draws(
    rng: np.random.Generator, count: int, reference: datetime
) -> dict[str, npt.NDArray[Any]]:
    """Draw the compact per-profile codes that the profile frame is built from."""
    draws = _person_draws(rng, count, reference)

    _copy_duplicates(rng, draws)

    draws["created_us"] = _created_us(rng, count, reference)
    ref_us = (reference - EPOCH) // MICROSECOND
    draws["weight"] = _buyer_weights(rng, draws["created_us"], ref_us)
    return draws


def _person_draws(
    rng: np.random.Generator, count: int, reference: datetime
) -> dict[str, npt.NDArray[Any]]:
    """Draw names, email parts, place and birth date of every profile."""
    country = _pick(rng, [row[1] for row in COUNTRIES], count)
    city = _pick(rng, CITY_WEIGHTS, count)
    city += country * np.uint8(CITIES_PER_COUNTRY)

    age_days = np.clip(rng.normal(41.0, 13.0, count), 18.0, 90.0) * 365.25
    reference_days = (reference.date() - EPOCH.date()).days

    return {
        "first": _pick(rng, _zipf_weights(len(FIRST_NAMES), 0.6), count),
        "last": _pick(rng, _zipf_weights(len(LAST_NAMES), 0.6), count),
        "suffix": (rng.permutation(count) + 1).astype(np.int64),
        "domain": _pick(rng, EMAIL_DOMAIN_WEIGHTS, count),
        "country": country,
        "city": city,
        "birth_days": (reference_days - age_days.astype(np.int32)).astype(np.int32),
    }


def _copy_duplicates(
    rng: np.random.Generator, draws: dict[str, npt.NDArray[Any]]
) -> None:
    """Make about 2% of profiles repeat another profile's person and email."""
    count = len(draws["first"])
    duplicate = rng.random(count) < DUPLICATE_EMAIL_RATE
    originals = np.flatnonzero(~duplicate)
    if len(originals) == 0:
        return

    copies = np.flatnonzero(duplicate)
    sources = originals[rng.integers(0, len(originals), len(copies))]
    for values in draws.values():
        values[copies] = values[sources]


def _created_us(rng: np.random.Generator, count: int, reference: datetime) -> IntArray:
    """Draw creation times, more of them recent as the base grows."""
    start = min(CREATED_START, reference - timedelta(days=365))
    start_us = (start - EPOCH) // MICROSECOND
    span_us = (reference - start) // MICROSECOND

    created = rng.random(count) ** 0.7 * span_us
    created_us = created.astype(np.int64) + start_us
    created_us -= created_us % SECOND_US
    return np.maximum(created_us, start_us)


def _buyer_weights(
    rng: np.random.Generator, created_us: IntArray, ref_us: int
) -> FloatArray:
    """Weigh how much each profile buys: lognormal, zero for non-buyers."""
    count = len(created_us)
    weight = rng.lognormal(0.0, 1.1, count)
    weight *= rng.random(count) < ACTIVE_BUYER_RATE

    tenure = (ref_us - created_us) / PURCHASE_WINDOW_US
    weight *= np.clip(tenure, 0.05, 1.0)

    if weight.sum() <= 0:
        weight[:] = 1.0
    return weight


def _purchases(
    rng: np.random.Generator,
    draws: dict[str, npt.NDArray[Any]],
    products: pl.DataFrame,
    count: int,
    ref_us: int,
) -> pl.DataFrame:
    """Draw count purchases, grouped by profile, with skewed products.

    Columns are drawn one after the other, each in its final dtype, so that
    ten million profiles stay within a few gigabytes.
    """
    weight = draws["weight"]
    per_profile = rng.multinomial(count, weight / weight.sum())
    profile_index = np.repeat(np.arange(len(weight), dtype=np.int64), per_profile)
    del per_profile

    purchased_us = _purchase_times(rng, draws["created_us"], profile_index, ref_us)

    popularity = rng.permutation(_zipf_weights(len(products), 1.05))
    product_code = _pick(rng, popularity, count)
    quantity = _pick(rng, QUANTITY_WEIGHTS, count).astype(np.int32)
    quantity += 1

    amount = products["price"].to_numpy()[product_code]
    amount *= quantity

    profile_index += 1
    product_id = product_code.astype(np.int64)
    product_id += 1
    return pl.DataFrame(
        {
            "purchase_id": np.arange(1, count + 1, dtype=np.int64),
            "profile_id": profile_index,
            "product_id": product_id,
            "quantity": quantity,
            "amount": amount,
            "purchased_at": pl.Series(purchased_us).cast(pl.Datetime("us")),
        },
        schema=PURCHASES_SCHEMA,
    )


def _purchase_times(
    rng: np.random.Generator, created_us: IntArray, profile_index: IntArray, ref_us: int
) -> IntArray:
    """Draw whole-second purchase times between creation (or two years before
    reference, whichever is later) and reference."""
    window_start = np.maximum(created_us, ref_us - PURCHASE_WINDOW_US)
    seconds = window_start[profile_index]
    np.subtract(ref_us, seconds, out=seconds)
    seconds //= SECOND_US
    seconds += 1

    purchased_us = rng.integers(0, seconds)
    del seconds
    purchased_us *= -SECOND_US
    purchased_us += ref_us
    return purchased_us


def _profiles_frame(
    rng: np.random.Generator, draws: dict[str, npt.NDArray[Any]]
) -> pl.DataFrame:
    """Build the profiles frame from the draws, adding contacts and consents."""
    count = len(draws["first"])
    has_phone = rng.random(count) < PHONE_RATE
    has_token = rng.random(count) < PUSH_TOKEN_RATE

    frame = pl.DataFrame(
        {
            "profile_id": np.arange(1, count + 1, dtype=np.int64),
            "email": _emails(draws),
            "phone": _phones(rng, draws["country"], has_phone),
            "push_token": _push_tokens(rng, has_token),
            "first_name": _lookup(FIRST_NAMES, draws["first"]),
            "last_name": _lookup(LAST_NAMES, draws["last"]),
            "country": _lookup([row[0] for row in COUNTRIES], draws["country"]),
            "city": _lookup(_city_names(), draws["city"]),
            "birth_date": pl.Series(draws["birth_days"]).cast(pl.Date),
            "loyalty_tier": _loyalty_tiers(rng, draws["weight"]),
            "created_at": pl.Series(draws["created_us"]).cast(pl.Datetime("us")),
        }
    )

    return frame.with_columns(
        email_consent=pl.Series(rng.random(count) < EMAIL_CONSENT_RATE),
        sms_consent=pl.Series(has_phone & (rng.random(count) < SMS_CONSENT_RATE)),
        push_consent=pl.Series(has_token & (rng.random(count) < PUSH_CONSENT_RATE)),
    )


def _city_names() -> list[str]:
    """List every city, CITIES_PER_COUNTRY per country in COUNTRIES order."""
    return [city for row in COUNTRIES for city in CITIES[row[0]]]


def _email_key(name: str) -> str:
    """Turn a display name into its lower-case email part: "De Jong" -> "dejong"."""
    return name.lower().replace(" ", "")


def _emails(draws: dict[str, npt.NDArray[Any]]) -> pl.Series:
    """Build lower-case emails like first.last123@example.com, vectorised."""
    names = [
        f"{_email_key(first)}.{_email_key(last)}"
        for first in FIRST_NAMES
        for last in LAST_NAMES
    ]
    name_code = draws["first"].astype(np.uint16) * len(LAST_NAMES) + draws["last"]

    parts = pl.DataFrame(
        {
            "name": _lookup(names, name_code),
            "suffix": pl.Series(draws["suffix"]).cast(pl.String),
            "domain": _lookup(
                [f"@{domain}" for domain in EMAIL_DOMAINS], draws["domain"]
            ),
        }
    )
    address = pl.concat_str("name", "suffix", "domain")
    return parts.select(address.alias("email")).to_series()


def _phones(
    rng: np.random.Generator, country: npt.NDArray[Any], has_phone: BoolArray
) -> pl.Series:
    """Draw E.164 mobile numbers of the profile's country, null where missing."""
    first = np.array([row[3] for row in COUNTRIES], dtype=np.int64)[country]
    span = np.array([row[4] for row in COUNTRIES], dtype=np.int64)[country]
    national = first + rng.integers(0, 1 << 62, len(country)) % span

    parts = pl.DataFrame(
        {
            "dial": _lookup(["+" + row[2] for row in COUNTRIES], country),
            "national": pl.Series(national).cast(pl.String),
            "has_phone": has_phone,
        }
    )
    number = pl.when("has_phone").then(pl.concat_str("dial", "national"))
    return parts.select(number.alias("phone")).to_series()


def _push_tokens(rng: np.random.Generator, has_token: BoolArray) -> pl.Series:
    """Draw 32-character hex push tokens, null where the profile has none."""
    holders = int(has_token.sum())
    random_bytes = rng.integers(0, 256, (holders, PUSH_TOKEN_BYTES), dtype=np.uint8)
    hex_text = HEX_PAIRS[random_bytes].view(f"S{2 * PUSH_TOKEN_BYTES}").ravel()
    tokens = pl.Series(hex_text).cast(pl.String)
    del random_bytes, hex_text

    position = np.cumsum(has_token, dtype=np.int64) - 1
    index = pl.DataFrame({"position": position, "has_token": has_token}).select(
        pl.when("has_token").then("position")
    )
    return tokens.gather(index.to_series()).alias("push_token")


def _loyalty_tiers(rng: np.random.Generator, weight: FloatArray) -> pl.Series:
    """Draw loyalty tiers, skewed toward none and bronze, higher for big buyers."""
    score = np.log(weight + 0.05) + rng.normal(0.0, 1.0, len(weight))
    bounds = np.quantile(score, np.cumsum(LOYALTY_SHARES)[:-1])
    tier = np.searchsorted(bounds, score, side="right").astype(np.uint8)
    return _lookup(LOYALTY_TIERS, tier)

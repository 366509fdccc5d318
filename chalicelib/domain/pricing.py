"""Pricing: what an order costs, from the catalog's prices and its restaurant's terms.

Pure: no I/O. Every amount is integer cents; rates are exact decimals; each rounding is
half-even (banker's rounding: a half cent goes to the even cent, so roundings do not drift
one way over many orders).

    subtotal  = the sum of the lines (catalog prices x quantities)
    discount  = the promo code's, never more than the subtotal (a code pays for food,
                never for fees, tax or the courier's tip)
    delivery  = the restaurant's base fee + its per-km fee x the delivery distance (when known)
    service   = the restaurant's service fee rate x the subtotal
    tax       = the restaurant's tax rate x the taxable lines: items after the discount,
                delivery fee and service fee; the tip is not taxed
    total     = subtotal + delivery + service + tax + tip - discount   (never below zero)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from chalicelib.domain.base import WholeNumber
from chalicelib.domain.errors import BELOW_MINIMUM_ORDER, FieldError, Refused

CENT = Decimal(1)
RATE_PLACES = Decimal("0.000001")
MAX_RATE = Decimal("0.25")  # tax and service fee rates
MAX_FEE_CENTS = 10_000  # a $100 delivery fee is a typo
MAX_PER_KM_CENTS = 1_000
MAX_MIN_ORDER_CENTS = 100_000
MAX_TIP_CENTS = 20_000  # a $200 tip: more is a slip of the finger
ZERO = Decimal(0)


# 0 to 0.25 inclusive, up to 6 decimals, as text.
RATE_PATTERN = r"^0(\.([01]\d{0,5}|2([0-4]\d{0,4}|50{0,4})?))?$"


def _rate(value: Any) -> Any:
    """A rate as an exact decimal: from decimal text ("0.0825") as written, or from a JSON
    number through its shortest text (0.0825, not the binary float's expansion), kept to
    six decimal places."""
    if isinstance(value, str):
        if not re.match(RATE_PATTERN, value):
            raise ValueError('a decimal from 0 to 0.25 with at most 6 decimal places, such as "0.0825"')
        return Decimal(value).normalize() + ZERO
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value  # the strict type check refuses it
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError("a finite number")
    # + ZERO: "-0" becomes "0"
    return number.quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN).normalize() + ZERO


RATE_SCHEMA = WithJsonSchema(
    {
        # The bounds hold for numbers, the pattern (the same bounds) for strings.
        "type": ["number", "string"],
        "minimum": 0,
        "maximum": 0.25,
        "pattern": RATE_PATTERN,
        "description": 'A fraction from 0 to 0.25, e.g. "0.0825" for 8.25 % (numbers are kept to 6 decimal places)',
    }
)
Rate = Annotated[Decimal, BeforeValidator(_rate), Field(ge=0, le=MAX_RATE), RATE_SCHEMA]
FeeCents = Annotated[int, Field(ge=0, le=MAX_FEE_CENTS), WholeNumber]
PerKmCents = Annotated[int, Field(ge=0, le=MAX_PER_KM_CENTS), WholeNumber]
MinOrderCents = Annotated[int, Field(ge=0, le=MAX_MIN_ORDER_CENTS), WholeNumber]
TipCents = Annotated[int, Field(ge=0, le=MAX_TIP_CENTS), WholeNumber]

TERM_NAMES = (
    "delivery_fee_cents",
    "delivery_fee_per_km_cents",
    "service_fee_rate",
    "min_order_cents",
    "tax_rate",
)


def round_cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT, rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class Terms:
    """A restaurant's pricing terms (what it stores; absent terms cost nothing)."""

    delivery_fee_cents: int = 0
    delivery_fee_per_km_cents: int = 0
    service_fee_rate: Decimal = ZERO
    min_order_cents: int = 0
    tax_rate: Decimal = ZERO

    @classmethod
    def of(cls, restaurant: Mapping[str, Any]) -> Terms:
        """From a Restaurants item (rates are stored as decimal text)."""
        return cls(
            delivery_fee_cents=int(restaurant.get("delivery_fee_cents") or 0),
            delivery_fee_per_km_cents=int(restaurant.get("delivery_fee_per_km_cents") or 0),
            service_fee_rate=Decimal(str(restaurant.get("service_fee_rate") or "0")),
            min_order_cents=int(restaurant.get("min_order_cents") or 0),
            tax_rate=Decimal(str(restaurant.get("tax_rate") or "0")),
        )


@dataclass(frozen=True)
class Discount:
    """What a promo code takes off the subtotal: a percentage or an amount."""

    percent_off: int | None = None
    amount_off_cents: int | None = None

    def cents(self, subtotal_cents: int) -> int:
        if self.percent_off is not None:
            raw = round_cents(Decimal(subtotal_cents) * self.percent_off / 100)
        else:
            raw = self.amount_off_cents or 0
        return max(0, min(raw, subtotal_cents))


NO_DISCOUNT = Discount()


@dataclass(frozen=True)
class Breakdown:
    subtotal_cents: int
    delivery_fee_cents: int
    service_fee_cents: int
    tax_cents: int
    tip_cents: int
    discount_cents: int

    @property
    def total_cents(self) -> int:
        total = (
            self.subtotal_cents
            + self.delivery_fee_cents
            + self.service_fee_cents
            + self.tax_cents
            + self.tip_cents
            - self.discount_cents
        )
        return max(0, total)

    def as_dict(self) -> dict[str, int]:
        return {
            "subtotal_cents": self.subtotal_cents,
            "delivery_fee_cents": self.delivery_fee_cents,
            "service_fee_cents": self.service_fee_cents,
            "tax_cents": self.tax_cents,
            "tip_cents": self.tip_cents,
            "discount_cents": self.discount_cents,
            "total_cents": self.total_cents,
        }


def delivery_fee(terms: Terms, distance_km: float | None) -> int:
    if distance_km is None or not terms.delivery_fee_per_km_cents:
        return terms.delivery_fee_cents
    per_km = Decimal(terms.delivery_fee_per_km_cents) * Decimal(str(max(0.0, distance_km)))
    return terms.delivery_fee_cents + round_cents(per_km)


def breakdown(
    subtotal_cents: int,
    terms: Terms,
    *,
    distance_km: float | None,
    tip_cents: int = 0,
    discount: Discount = NO_DISCOUNT,
) -> Breakdown:
    """The order's money. Below the restaurant's minimum (on the subtotal, before any
    discount) it is refused: 422 ``below_minimum_order``."""
    if subtotal_cents < terms.min_order_cents:
        raise Refused(
            f"The order's subtotal is {subtotal_cents} cents; this restaurant's minimum is {terms.min_order_cents}",
            [FieldError("items", f"add at least {terms.min_order_cents - subtotal_cents} cents of items")],
            kind=BELOW_MINIMUM_ORDER,
        )
    discount_cents = discount.cents(subtotal_cents)
    delivery_cents = delivery_fee(terms, distance_km)
    service_cents = round_cents(Decimal(subtotal_cents) * terms.service_fee_rate)
    taxable = subtotal_cents - discount_cents + delivery_cents + service_cents
    tax_cents = round_cents(Decimal(taxable) * terms.tax_rate)
    return Breakdown(
        subtotal_cents=subtotal_cents,
        delivery_fee_cents=delivery_cents,
        service_fee_cents=service_cents,
        tax_cents=tax_cents,
        tip_cents=tip_cents,
        discount_cents=discount_cents,
    )

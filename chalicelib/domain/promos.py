"""Promo codes: what admins create, and whether a code applies to an order at placement.

Pure: no I/O. A code takes a percentage or an amount off the subtotal (``pricing.Discount``),
from a minimum subtotal, within a validity window, for a bounded number of uses in total
and per customer, optionally at some restaurants only. Placement checks it against what
it read; the confirming transaction counts the use, conditioned on the limits (the judge
when orders race for the last use).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chalicelib.domain import errors
from chalicelib.domain.base import Omitted, RequestModel, ResponseModel, WholeNumber, request_schema
from chalicelib.domain.clock import rfc3339
from chalicelib.domain.errors import FieldError, Refused
from chalicelib.domain.paging import Page
from chalicelib.domain.pricing import Discount

# Codes are matched without regard to case: stored and compared in upper case.
CODE_PATTERN = r"^[A-Za-z0-9_-]{3,32}$"
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
RestaurantId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Moment = Annotated[AwareDatetime, Field(strict=False)]
MAX_AMOUNT_OFF_CENTS = 100_000
MAX_USES = 10_000_000
MAX_USES_PER_CUSTOMER = 1_000
MAX_RESTAURANTS = 100
# The sort key of a code's own item; a customer's use count sits beside it, under the code.
DEFINITION = "code"
LISTING = "promo-codes"  # the one partition of the by_created index


def canonical(code: str) -> str:
    return code.strip().upper()


def valid_code(code: str) -> bool:
    return bool(re.match(CODE_PATTERN, code))


def customer_scope(customer_id: str) -> str:
    return f"customer#{customer_id}"


def _one_kind_of_discount(schema: dict[str, Any], model: type[BaseModel]) -> None:
    request_schema(schema, model)
    schema["oneOf"] = [{"required": ["percent_off"]}, {"required": ["amount_off_cents"]}]


class PromoCodeCreate(RequestModel):
    """Exactly one of ``percent_off`` and ``amount_off_cents``."""

    model_config = ConfigDict(json_schema_extra=_one_kind_of_discount)  # merged with RequestModel's

    code: Code
    percent_off: Annotated[int, Field(ge=1, le=100), WholeNumber] | Omitted = None
    amount_off_cents: Annotated[int, Field(ge=1, le=MAX_AMOUNT_OFF_CENTS), WholeNumber] | Omitted = None
    min_subtotal_cents: Annotated[int, Field(ge=0, le=MAX_AMOUNT_OFF_CENTS), WholeNumber] = 0
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    max_uses: Annotated[int, Field(ge=1, le=MAX_USES), WholeNumber] | None = None
    max_uses_per_customer: Annotated[int, Field(ge=1, le=MAX_USES_PER_CUSTOMER), WholeNumber] | None = None
    restaurant_ids: Annotated[list[RestaurantId], Field(min_length=1, max_length=MAX_RESTAURANTS)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PromoCodeCreate:
        if (self.percent_off is None) == (self.amount_off_cents is None):
            raise ValueError("give exactly one of percent_off and amount_off_cents")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class PromoCode(ResponseModel):
    code: str
    percent_off: int | None = None
    amount_off_cents: int | None = None
    min_subtotal_cents: int = 0
    starts_at: str | None = None
    ends_at: str | None = None
    max_uses: int | None = None
    max_uses_per_customer: int | None = None
    restaurant_ids: list[str] | None = None
    uses: int = 0
    created_at: str


class PromoCodePage(Page):
    """A page of promo codes, newest first (``next_cursor`` null on the last page)."""

    items: list[PromoCode]


def new_code(cmd: PromoCodeCreate, now: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "code": canonical(cmd.code),
        "scope": DEFINITION,
        "listing": LISTING,
        "percent_off": cmd.percent_off,
        "amount_off_cents": cmd.amount_off_cents,
        "min_subtotal_cents": cmd.min_subtotal_cents,
        "starts_at": rfc3339(cmd.starts_at) if cmd.starts_at else None,
        "ends_at": rfc3339(cmd.ends_at) if cmd.ends_at else None,
        "max_uses": cmd.max_uses,
        "max_uses_per_customer": cmd.max_uses_per_customer,
        "restaurant_ids": cmd.restaurant_ids,
        "uses": 0,
        "created_at": now,
    }
    return {name: value for name, value in item.items() if value is not None}


@dataclass(frozen=True)
class Redemption:
    """A promo code an order uses: stored on the order at placement, counted when it confirms."""

    code: str
    discount: Discount
    per_customer_limit: int | None


def applicable(
    code: str,
    definition: Mapping[str, Any] | None,
    customer_uses: int,
    *,
    restaurant_id: str,
    subtotal_cents: int,
    at: datetime,
) -> Redemption:
    """The redemption of ``code`` on this order, or a 422 that says why the code does not apply."""

    def refuse(kind: errors.ProblemKind, detail: str) -> Refused:
        return Refused(detail, [FieldError("promo_code", kind.meaning)], kind=kind)

    if definition is None:
        raise refuse(errors.PROMO_CODE_UNKNOWN, f"There is no promo code {code!r}")
    moment = rfc3339(at)
    if definition.get("starts_at") and moment < str(definition["starts_at"]):
        raise refuse(errors.PROMO_CODE_NOT_YET_VALID, f"The promo code {code} is valid from {definition['starts_at']}")
    if definition.get("ends_at") and moment >= str(definition["ends_at"]):
        raise refuse(errors.PROMO_CODE_EXPIRED, f"The promo code {code} expired at {definition['ends_at']}")
    allowed = definition.get("restaurant_ids")
    if allowed and restaurant_id not in allowed:
        raise refuse(errors.PROMO_CODE_WRONG_RESTAURANT, f"The promo code {code} is not valid at this restaurant")
    minimum = int(definition.get("min_subtotal_cents") or 0)
    if subtotal_cents < minimum:
        raise refuse(
            errors.PROMO_CODE_BELOW_MINIMUM, f"The promo code {code} needs a subtotal of at least {minimum} cents"
        )
    max_uses = definition.get("max_uses")
    per_customer = definition.get("max_uses_per_customer")
    if max_uses is not None and int(definition.get("uses") or 0) >= int(max_uses):
        raise refuse(errors.PROMO_CODE_EXHAUSTED, f"The promo code {code} has been used up")
    if per_customer is not None and customer_uses >= int(per_customer):
        raise refuse(errors.PROMO_CODE_EXHAUSTED, f"You have used the promo code {code} as often as it allows")
    percent = definition.get("percent_off")
    amount = definition.get("amount_off_cents")
    return Redemption(
        code=code,
        discount=Discount(
            percent_off=int(percent) if percent is not None else None,
            amount_off_cents=int(amount) if amount is not None else None,
        ),
        per_customer_limit=int(per_customer) if per_customer is not None else None,
    )

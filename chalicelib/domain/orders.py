"""Orders: the request models, pricing from the catalog and the status state machine.

Pure: no boto3, no I/O. ``Order`` is the typed order the layers pass around; its ``move``
is the only way to change a status.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, StringConstraints, model_serializer

from chalicelib.domain import pricing, promos, zones
from chalicelib.domain.accounts import Address, Latitude, Longitude
from chalicelib.domain.base import DEFERRED, RequestModel, ResponseModel, WholeNumber, text
from chalicelib.domain.clock import now as clock_now
from chalicelib.domain.couriers import Position
from chalicelib.domain.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable, ValidationFailed
from chalicelib.domain.paging import ListQuery, Page
from chalicelib.domain.principal import COURIERS, RESTAURANT_OWNERS, Principal

# --- statuses -----------------------------------------------------------------------------


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    PREPARING = "PREPARING"
    READY = "READY"
    PICKED_UP = "PICKED_UP"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        """Nothing moves an order on from here: an account with only such orders may be deleted."""
        return not TRANSITIONS[self]


PENDING = OrderStatus.PENDING
CONFIRMED = OrderStatus.CONFIRMED
FAILED = OrderStatus.FAILED
ACCEPTED = OrderStatus.ACCEPTED
REJECTED = OrderStatus.REJECTED
PREPARING = OrderStatus.PREPARING
READY = OrderStatus.READY
PICKED_UP = OrderStatus.PICKED_UP
DELIVERED = OrderStatus.DELIVERED
CANCELLED = OrderStatus.CANCELLED

# Request fields take the status name as text (strict models refuse a plain str for an enum).
Status = Annotated[OrderStatus, Field(strict=False)]
FailureReason = Literal[
    "payment_declined",
    "out_of_stock",
    "restaurant_closed",
    "promo_code_exhausted",
    "payment_unavailable",
    "payment_action_required",
]
PAYMENT_DECLINED: FailureReason = "payment_declined"
OUT_OF_STOCK: FailureReason = "out_of_stock"
RESTAURANT_CLOSED: FailureReason = "restaurant_closed"
# The promo code's last use went to another order between placement and confirmation.
PROMO_CODE_EXHAUSTED: FailureReason = "promo_code_exhausted"
# The provider could not be reached for the whole retry window: nothing was charged.
PAYMENT_UNAVAILABLE: FailureReason = "payment_unavailable"
# The card needs its holder to authenticate (3-D Secure): nothing was charged.
PAYMENT_ACTION_REQUIRED: FailureReason = "payment_action_required"

TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    PENDING: frozenset({CONFIRMED, FAILED, CANCELLED}),
    CONFIRMED: frozenset({ACCEPTED, REJECTED, CANCELLED}),
    ACCEPTED: frozenset({PREPARING}),
    PREPARING: frozenset({READY}),
    READY: frozenset({PICKED_UP}),
    PICKED_UP: frozenset({DELIVERED}),
    FAILED: frozenset(),
    REJECTED: frozenset(),
    DELIVERED: frozenset(),
    CANCELLED: frozenset(),
}
# Set by the payment/stock step only: nobody moves an order there by hand, admins included.
SYSTEM_TARGETS = frozenset({CONFIRMED, FAILED})
OWNER_TARGETS = frozenset({ACCEPTED, REJECTED, PREPARING, READY})
COURIER_TARGETS = frozenset({PICKED_UP, DELIVERED})
# Money was taken: these statuses keep it (the processor makes sure it is captured).
PAID_STATUSES = frozenset({CONFIRMED, ACCEPTED, PREPARING, READY, PICKED_UP, DELIVERED})
RELEASED_STATUSES = frozenset({REJECTED, CANCELLED})
FINAL_STATUSES = frozenset(status for status in OrderStatus if status.is_final)
REDACTED = "[redacted]"
CARRYING_FIELDS = ("courier_location", "eta")
OFFERED = "READY"
DISPATCH_FIELDS = (*CARRYING_FIELDS, "claimed_at", "pickup_distance_km")
PERSONAL_FIELDS = ("delivery_address", "notes")


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(OrderStatus(current), frozenset()):
        raise Conflict(f"An order cannot move from {current} to {target}")


def returns_money_and_stock(current: str, target: str) -> bool:
    """Leaving CONFIRMED for REJECTED/CANCELLED refunds the payment and puts the stock back."""
    return current == CONFIRMED and target in RELEASED_STATUSES


# --- the order ----------------------------------------------------------------------------


class OrderLine(BaseModel):
    model_config = ConfigDict(DEFERRED, frozen=True)

    product_id: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class StatusStamp(BaseModel):
    model_config = ConfigDict(DEFERRED, frozen=True)

    status: OrderStatus
    at: str


class Order(BaseModel):
    """An order as stored: the Orders item, attribute for attribute. Attributes this model
    does not name are kept as they are, so a write never drops what another release added.

    Only ``move`` and ``cancel`` change the status: they check the transition and who
    makes it, and return the new value; the repository stores it conditioned on the old."""

    model_config = ConfigDict(DEFERRED, frozen=True, extra="allow")

    order_id: str
    customer_id: str
    restaurant_id: str
    status: OrderStatus
    items: tuple[OrderLine, ...]
    total_cents: int
    currency: str = "USD"
    # The breakdown (pricing.Breakdown). An order stored before it has none: its total
    # is its items' sum (``receipt``).
    subtotal_cents: int | None = None
    delivery_fee_cents: int = 0
    service_fee_cents: int = 0
    tax_cents: int = 0
    tip_cents: int = 0
    discount_cents: int = 0
    # The promo code the order redeems when it confirms (and gives back if it is released).
    promo_code: str | None = None
    promo_per_customer_limit: int | None = None
    delivery_address: dict[str, Any] = Field(default_factory=dict)
    notes: str | None = None
    payment_token: str = ""
    request_hash: str = ""
    status_history: tuple[StatusStamp, ...] = ()
    created_at: str
    updated_at: str | None = None
    failure_reason: FailureReason | None = None
    courier_id: str | None = None
    reason: str | None = None
    authorization_id: str | None = None
    stock_taken: tuple[str, ...] = ()
    # Reconciled from the provider's events (the webhook): a dispute, refunds made outside
    # the API (the provider's dashboard).
    dispute: dict[str, Any] | None = None
    refunded_cents: int | None = None
    # While PENDING: the card needs its holder (3-D Secure); see PaymentAction.
    payment_action: dict[str, Any] | None = None
    distance_km: float | None = None  # from the restaurant to the delivery address
    # Dispatch: the claim (courier_id + claimed_at), how often an admin put it back on offer,
    # and, while PICKED_UP only, the carrying courier's last position and the ETA.
    claimed_at: str | None = None
    offer_round: int = 0
    # "READY" while offered to couriers (READY, not claimed): the sparse by_offer index's key.
    offer: str | None = None
    courier_location: dict[str, Any] | None = None
    eta: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Order:
        return cls.model_validate(item)

    def item(self) -> dict[str, Any]:
        """The stored attributes (those read or set, nothing defaulted), JSON-shaped."""
        return self.model_dump(mode="json", exclude_unset=True)

    @property
    def product_ids(self) -> list[str]:
        return [line.product_id for line in self.items]

    @property
    def last_change_at(self) -> str:
        for entry in reversed(self.status_history):
            if entry.status == self.status:
                return entry.at
        return self.updated_at or self.created_at

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    def redacted(self) -> Order:
        """What an order keeps once its customer's account is deleted: the restaurant's record
        (items, money, history, city) without the person (address lines, position, notes)."""
        kept = {"city": self.delivery_address["city"]} if "city" in self.delivery_address else {}
        address = {**kept, "label": REDACTED, "line1": REDACTED, "postcode": REDACTED}
        return self.model_copy(update={"delivery_address": address, "notes": None})

    def personal_fields(self) -> dict[str, Any]:
        """The attributes ``redacted`` overwrites, as stored."""
        return {name: getattr(self, name) for name in PERSONAL_FIELDS}

    def move(
        self,
        target: OrderStatus | str,
        by: Principal | None,
        *,
        at: str,
        owns_restaurant: bool = False,
        **changes: Any,
    ) -> Order:
        """The order in ``target``. ``by`` is the person asking (their role and relation to
        the order decide, see ``check_mover``), or None for the payment/stock step."""
        target = OrderStatus(target)
        if by is not None:
            check_mover(self, by, target, owns_restaurant)
            if target == PICKED_UP and not self.courier_id:
                changes["courier_id"] = by.user_id
        check_transition(self.status, target)
        return self._moved(target, at, changes)

    def cancel(self, by: Principal, *, at: str) -> Order:
        """Only its customer cancels an order (anyone else gets 404)."""
        if self.customer_id != by.user_id:
            raise NotFound("No such order")
        check_transition(self.status, CANCELLED)
        return self._moved(CANCELLED, at, {})

    def _moved(self, target: OrderStatus, at: str, changes: Mapping[str, Any]) -> Order:
        update: dict[str, Any] = {
            "status": target,
            "updated_at": at,
            "status_history": (*self.status_history, StatusStamp(status=target, at=at)),
        }
        update.update({name: value for name, value in changes.items() if value is not None})
        if target == READY:
            update["offer"] = OFFERED
        elif self.offer is not None:
            update["offer"] = None
        if target != PICKED_UP:
            # The courier's position is shown between pickup and delivery only: dropped here.
            update.update({name: None for name in CARRYING_FIELDS if getattr(self, name) is not None})
        return self.model_copy(update=update)


# --- who may see and move an order --------------------------------------------------------


def is_party(order: Order, principal: Principal) -> bool:
    """Visible without asking the catalog: its customer, its courier, admins."""
    return (
        principal.is_admin
        or order.customer_id == principal.user_id
        or (bool(order.courier_id) and order.courier_id == principal.user_id)
    )


def check_mover(order: Order, principal: Principal, target: str, owns_restaurant: bool) -> None:
    """Raises 404 for an order that is not the caller's business, 403 for a move their role
    does not allow. Legality of the move itself is ``check_transition``'s job."""
    if principal.is_admin:
        if target in SYSTEM_TARGETS:
            raise Conflict(f"{target} is set by payment processing only")
        return
    if target in OWNER_TARGETS:
        if RESTAURANT_OWNERS not in principal.roles:
            raise _forbidden(target)
        if not owns_restaurant:
            raise NotFound("No such order")
        return
    if target in COURIER_TARGETS:
        if COURIERS not in principal.roles:
            raise _forbidden(target)
        if order.courier_id != principal.user_id:
            if target == PICKED_UP and not order.courier_id and order.status == READY:
                raise Conflict(f"Claim this delivery first: POST /deliveries/{order.order_id}/claim")
            raise NotFound("No such order")  # another courier's delivery
        return
    raise _forbidden(target)


def _forbidden(target: str) -> Exception:
    return Forbidden(f"Your role cannot move an order to {target}")


def needs_owner_check(principal: Principal) -> bool:
    return RESTAURANT_OWNERS in principal.roles and not principal.is_admin


# --- requests -----------------------------------------------------------------------------

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
MAX_LINES = 30


class OrderLineIn(RequestModel):
    product_id: Id
    quantity: Annotated[int, Field(ge=1, le=50), WholeNumber]


class DeliveryAddress(Address):
    """An address an order goes to: its coordinates decide whether the restaurant delivers there."""

    lat: Latitude
    lng: Longitude


class OrderDraft(RequestModel):
    """What prices an order: a quote asks with this, an order places it."""

    restaurant_id: Id
    items: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]
    delivery_address: DeliveryAddress | None = None
    # For the courier, chosen by the customer; never taxed.
    tip_cents: pricing.TipCents = 0
    promo_code: promos.Code | None = None


class PlaceOrder(OrderDraft):
    delivery_address: DeliveryAddress
    payment_token: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
    notes: Annotated[str, text(500, multiline=True)] | None = None


class StatusChange(RequestModel):
    status: Status
    reason: Annotated[str, text(500, 1, multiline=True)] | None = None


class OrdersQuery(ListQuery):
    status: Status | None = None


def check_lines(cmd: OrderDraft) -> None:
    seen: set[str] = set()
    errors = []
    for index, line in enumerate(cmd.items):
        if line.product_id in seen:
            errors.append(FieldError(f"items[{index}].product_id", "this product is already on the order"))
        seen.add(line.product_id)
    if errors:
        raise ValidationFailed("The order lists a product twice", errors)


def order_id_for(customer_id: str, key: str) -> str:
    """Same customer + same key = same order id: the idempotency of POST /orders."""
    digest = hashlib.sha256(f"{customer_id}\x1f{key}".encode()).hexdigest()
    return f"ord_{digest[:24]}"


def request_hash(cmd: PlaceOrder) -> str:
    canonical = json.dumps(cmd.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- pricing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity

    def as_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "quantity": self.quantity,
            "unit_price_cents": self.unit_price_cents,
            "line_total_cents": self.line_total_cents,
        }


@dataclass(frozen=True)
class PromoRead:
    """What placement read of the order's promo code: its item (None: no such code) and
    how often this customer has redeemed it."""

    definition: Mapping[str, Any] | None
    customer_uses: int = 0


@dataclass(frozen=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    currency: str
    money: pricing.Breakdown
    redemption: promos.Redemption | None = None


def price(
    cmd: OrderDraft,
    restaurant: Mapping[str, Any] | None,
    products: Mapping[str, Mapping[str, Any]],
    *,
    distance_km: float | None = None,
    promo: PromoRead | None = None,
    at: datetime | None = None,
) -> PricedOrder:
    """Prices come from the catalog only, fees and tax from the restaurant's terms
    (``pricing.breakdown``). An unknown restaurant, or products it does not sell, are 404
    (with the fields named); an unavailable product is 409 (a retry later may work); below
    the minimum order, or a promo code that does not apply, is 422. Whether the restaurant
    delivers there and now is ``delivery_distance``'s call."""
    if restaurant is None:
        raise NotFound("No such restaurant", [FieldError("restaurant_id", "unknown restaurant")])
    invalid: list[FieldError] = []
    unavailable: list[FieldError] = []
    lines = []
    currencies = set()
    for index, line in enumerate(cmd.items):
        field = f"items[{index}].product_id"
        product = products.get(line.product_id)
        if product is None or product.get("restaurant_id") != cmd.restaurant_id:
            invalid.append(FieldError(field, "no such product at this restaurant"))
            continue
        if product.get("available") is not True:
            unavailable.append(FieldError(field, "this product is not available"))
            continue
        currencies.add(str(product.get("currency", "USD")))
        lines.append(
            PricedLine(line.product_id, str(product.get("name", "")), line.quantity, int(product["price_cents"]))
        )
    if invalid:
        raise NotFound("Some products are not sold by this restaurant", invalid)
    if unavailable:
        raise Conflict("Some products are not available", unavailable)
    if len(currencies) > 1:
        raise Unprocessable("Products are priced in different currencies", [FieldError("items", "mixed currencies")])
    subtotal = sum(line.line_total_cents for line in lines)
    terms = pricing.Terms.of(restaurant)
    redemption = None
    if cmd.promo_code is not None:
        read = promo or PromoRead(None)
        redemption = promos.applicable(
            promos.canonical(cmd.promo_code),
            read.definition,
            read.customer_uses,
            restaurant_id=cmd.restaurant_id,
            subtotal_cents=subtotal,
            at=at or clock_now(),
        )
    money = pricing.breakdown(
        subtotal,
        terms,
        distance_km=distance_km,
        tip_cents=cmd.tip_cents,
        discount=redemption.discount if redemption else pricing.NO_DISCOUNT,
    )
    return PricedOrder(tuple(lines), currencies.pop() if currencies else "USD", money, redemption)


def shortfall(
    order: Order,
    restaurant: Mapping[str, Any] | None,
    products: Mapping[str, Mapping[str, Any]],
    at: datetime | None = None,
) -> FailureReason | None:
    """What a fresh read of the catalog says about confirming ``order`` now (the transaction's
    conditions stay the judge; this spares a transaction that is bound to fail). With ``at``,
    the restaurant's hours count too (the transaction checks only its owner's switch)."""
    if restaurant is None or restaurant.get("is_open") is not True:
        return RESTAURANT_CLOSED
    if at is not None and not zones.open_at(restaurant, at):
        return RESTAURANT_CLOSED
    for line in order.items:
        product = products.get(line.product_id)
        if product is None or product.get("available") is not True:
            return OUT_OF_STOCK
        if "stock" in product and int(product["stock"]) < line.quantity:
            return OUT_OF_STOCK
    return None


def delivery_distance(cmd: OrderDraft, restaurant: Mapping[str, Any], at: datetime) -> float | None:
    """The kilometres from the restaurant to the delivery address (to 10 m), if the restaurant
    delivers there and takes orders at ``at``; else a 422 that writes nothing. A draft without
    an address (a quote) is checked for the hours only and has no distance."""
    address = cmd.delivery_address
    distance = zones.distance_to(restaurant, address.lat, address.lng) if address else None
    if address and not zones.delivers(restaurant, distance):
        radius = restaurant.get("delivery_radius_km")
        detail = (
            f"The address is {zones.shown_distance(distance)} km from the restaurant, which delivers within {radius} km"
            if distance is not None
            else "This restaurant has no delivery area yet"
        )
        raise zones.OutOfDeliveryArea(
            detail, [FieldError("delivery_address", "outside the restaurant's delivery area")]
        )
    if not zones.open_at(restaurant, at):
        raise zones.RestaurantClosed(
            "The restaurant is not taking orders now", [FieldError("restaurant_id", "the restaurant is closed")]
        )
    return zones.shown_distance(distance) if distance is not None else None


def new_order(
    *,
    order_id: str,
    customer_id: str,
    cmd: PlaceOrder,
    priced: PricedOrder,
    request_digest: str,
    now: str,
    distance_km: float | None = None,
) -> Order:
    return Order(
        order_id=order_id,
        customer_id=customer_id,
        restaurant_id=cmd.restaurant_id,
        status=PENDING,
        items=tuple(OrderLine(**line.as_dict()) for line in priced.lines),
        **priced.money.as_dict(),
        currency=priced.currency,
        promo_code=priced.redemption.code if priced.redemption else None,
        promo_per_customer_limit=priced.redemption.per_customer_limit if priced.redemption else None,
        delivery_address=cmd.delivery_address.model_dump(mode="json", exclude_none=True),
        notes=cmd.notes,
        payment_token=cmd.payment_token,
        request_hash=request_digest,
        status_history=(StatusStamp(status=PENDING, at=now),),
        created_at=now,
        updated_at=now,
        distance_km=distance_km,
    )


# --- responses ----------------------------------------------------------------------------


class OrderLineOut(ResponseModel):
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class OrderDispute(ResponseModel):
    """A chargeback the customer's bank opened on the payment (`status` as the provider reports it)."""

    dispute_id: str
    status: str
    reason: str
    amount_cents: int
    at: str


class PaymentAction(ResponseModel):
    """The card asks its holder to authenticate (3-D Secure) before it is charged: the
    customer's client passes `client_secret` to Stripe.js (`stripe.handleNextAction`); the
    order then goes on by itself, or fails `payment_action_required` if nobody acts before
    `expires_at`. Shown to the order's customer only, while the order is PENDING."""

    type: Literal["authenticate"]
    client_secret: str
    expires_at: str


class HistoryEntry(ResponseModel):
    status: OrderStatus
    at: str


class Quote(ResponseModel):
    """What an order costs: its lines and the money, total_cents = subtotal_cents +
    delivery_fee_cents + service_fee_cents + tax_cents + tip_cents - discount_cents."""

    total_cents: int
    currency: str
    items: list[OrderLineOut]
    subtotal_cents: int
    delivery_fee_cents: int = 0
    service_fee_cents: int = 0
    tax_cents: int = 0
    tip_cents: int = 0
    discount_cents: int = 0
    promo_code: str | None = None


class PlacedOrder(Quote):
    """An order's receipt (see ``Quote`` for the money)."""

    order_id: str
    status: OrderStatus
    created_at: str


class OrderOut(PlacedOrder):
    customer_id: str
    restaurant_id: str
    delivery_address: dict[str, Any]
    notes: str | None = None
    status_history: list[HistoryEntry]
    failure_reason: FailureReason | None = None
    courier_id: str | None = None
    reason: str | None = None
    updated_at: str | None = None
    # From the payment provider's events: a chargeback on this order, and what was refunded.
    dispute: OrderDispute | None = None
    refunded_cents: int | None = None
    payment_action: PaymentAction | None = None
    distance_km: float | None = None
    claimed_at: str | None = Field(None, description="When its courier claimed the delivery")
    courier_location: Position | None = Field(
        None, description="While PICKED_UP only: the carrying courier's last reported position"
    )
    eta: str | None = Field(
        None,
        description="While PICKED_UP only, when the address has coordinates: the expected delivery "
        "instant (RFC 3339), from the straight-line distance and the configured courier speed",
    )
    pickup_distance_km: float | None = Field(
        None, description="In GET /deliveries, when both are known: from the courier to the restaurant"
    )

    @model_serializer(mode="wrap")
    def _leave_out_dispatch_gaps(self, handler: SerializerFunctionWrapHandler):  # noqa: ANN202 - keeps the schema
        # Absent, not null, outside their moment: a client tests for the key.
        data = handler(self)
        for name in DISPATCH_FIELDS:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class OrderPage(Page):
    """A page of orders (``next_cursor`` null on the last page)."""

    items: list[OrderOut]


def receipt(order: Order) -> dict[str, Any]:
    """The stored order, its money broken down."""
    item = order.item()
    if item.get("subtotal_cents") is None:
        item["subtotal_cents"] = order.total_cents
    return item


def quote_out(priced: PricedOrder) -> Quote:
    return Quote.model_validate(
        {
            **priced.money.as_dict(),
            "currency": priced.currency,
            "items": [line.as_dict() for line in priced.lines],
            "promo_code": priced.redemption.code if priced.redemption else None,
        }
    )


def placed_out(order: Order) -> PlacedOrder:
    return PlacedOrder.model_validate(receipt(order))


def order_out(order: Order, viewer: str | None = None) -> OrderOut:
    """The order as ``viewer`` (a user id) sees it: a pending payment action is its customer's."""
    item = receipt(order)
    if order.status != PENDING or viewer != order.customer_id:
        item.pop("payment_action", None)
    if order.status != PICKED_UP:
        for name in CARRYING_FIELDS:
            item.pop(name, None)
    return OrderOut.model_validate(item)


def orders_out(orders: Iterable[Order], viewer: str | None = None) -> list[dict[str, Any]]:
    return [order_out(order, viewer).model_dump(mode="json") for order in orders]

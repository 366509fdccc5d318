"""Dispatch use cases: a courier's shift, the offers (READY orders nobody claimed), the
claim (one conditional write: one winner), an admin's unassignment, and the courier's
position, written onto the orders they carry so that the order view stays one read."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.aws import side_by_side
from chalicelib.adapters.couriers_repo import CouriersRepository
from chalicelib.adapters.orders_repo import OrdersRepository, StaleStatus
from chalicelib.domain import couriers as domain
from chalicelib.domain import orders
from chalicelib.domain.clock import rfc3339
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.paging import page_of
from chalicelib.domain.principal import Principal, require_account

if TYPE_CHECKING:
    from chalicelib.adapters.cache import TtlCache

# A position reaches the orders the courier carries that were placed this recently.
CARRY_WINDOW = timedelta(days=2)
NOT_AVAILABLE = 'You are not available for deliveries: PUT /couriers/me {"available": true} first'


class DispatchService:
    def __init__(
        self,
        couriers: CouriersRepository,
        orders_repo: OrdersRepository,
        *,
        location_ttl_seconds: int,
        location_interval_seconds: int,
        speed_kmh: float,
        pickups: TtlCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._couriers = couriers
        self._orders = orders_repo
        # Restaurants' locations, for the offers' order: a move shows within the cache's TTL.
        self._pickups = pickups
        self._ttl = location_ttl_seconds
        self._interval = location_interval_seconds
        self._speed = speed_kmh
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # --- the shift ------------------------------------------------------------------------

    def view(self, principal: Principal) -> domain.CourierView:
        state, position = self._couriers.records(principal.user_id, int(self._clock()))
        return domain.CourierView(
            courier_id=principal.user_id,
            available=bool(state and state.get("available")),
            updated_at=(state or {}).get("updated_at"),
            location=domain.Position.model_validate(position) if position else None,
        )

    def set_availability(self, principal: Principal, cmd: domain.Availability) -> domain.CourierState:
        state = self._couriers.set_available(principal.user_id, cmd.available, rfc3339(self._now()))
        return domain.CourierState(
            courier_id=principal.user_id, available=bool(state.get("available")), updated_at=state.get("updated_at")
        )

    # --- offers and claims ------------------------------------------------------------------

    def offers(self, principal: Principal, query: orders.OrdersQuery) -> dict[str, Any]:
        """READY orders without a courier, oldest first, or nearest pickup first (within the
        page) when the courier's position and the restaurants' locations are known. One
        round trip: the courier's records and the READY queue are read side by side (the
        queue is shown only to a courier on shift); the restaurants' locations come from a
        cache, read (one BatchGetItem) only for restaurants it does not hold."""
        (state, position), (found, cursor) = side_by_side(
            lambda: self._couriers.records(principal.user_id, int(self._clock())),
            lambda: self._orders.query(
                index="by_offer",
                key="offer",
                value=orders.OFFERED,
                limit=query.limit,
                cursor=query.cursor,
                status=None,
                newest_first=False,
            ),
        )
        if not (state and state.get("available")):
            raise domain.CourierUnavailable(NOT_AVAILABLE)
        items = orders.orders_out(found)
        here = domain.point(position)
        pickups: dict[str, tuple[float, float]] = {}
        if here is not None and items:
            located = self._locations([o.restaurant_id for o in found])
            pickups = {rid: p for rid, loc in located.items() if (p := domain.point(loc)) is not None}
        return page_of(domain.nearest_first(items, here, pickups), cursor)

    def _locations(self, restaurant_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Each restaurant's location ({} for one without), the uncached ones in one read."""
        known = {rid: self._pickups.get(("location", rid)) for rid in set(restaurant_ids)}
        missing = [rid for rid, location in known.items() if location is None]
        if missing:
            read = self._orders.restaurant_locations(missing)
            for rid in missing:
                known[rid] = read.get(rid) or {}
                self._pickups.put(("location", rid), known[rid])
        return {rid: location for rid, location in known.items() if location}

    def claim(self, principal: Principal, order_id: str) -> orders.OrderOut:
        """ONE conditional write decides between racing couriers: 200 to one, 409 to the rest."""
        state, exists = self._couriers.state_with_profile(principal.user_id)
        require_account(exists)
        if not (state and state.get("available")):
            raise domain.CourierUnavailable(NOT_AVAILABLE)
        try:
            return orders.order_out(self._orders.claim(order_id, principal.user_id, rfc3339(self._now())))
        except StaleStatus as exc:
            current = exc.current
            if current is None or current.status not in (orders.READY, orders.PICKED_UP, orders.DELIVERED):
                raise NotFound("No such delivery") from exc
            if current.courier_id != principal.user_id:
                raise domain.DeliveryTaken("Another courier claimed this delivery first") from exc
            if current.status == orders.READY:
                return orders.order_out(current)  # claimed by this courier already: the same answer
            raise Conflict("You picked this delivery up already") from exc

    def unassign(self, order_id: str) -> orders.OrderOut:
        """An admin takes a claimed READY order back from its courier: it is offered again."""
        try:
            return orders.order_out(self._orders.unassign(order_id, rfc3339(self._now())))
        except StaleStatus as exc:
            if exc.current is None:
                raise NotFound("No such order") from exc
            raise Conflict("Only a claimed order that is READY can be unassigned") from exc

    # --- the position -----------------------------------------------------------------------

    def report_position(self, principal: Principal, cmd: domain.PositionReport) -> domain.PositionAccepted:
        """Stored (rate-limited, with a TTL), then written onto each order the courier
        carries, with the ETA to its address: the stream pushes it to both ends."""
        moment = self._now()
        position = {"lat": cmd.lat, "lng": cmd.lng, "at": rfc3339(moment)}
        now_ms = int(moment.timestamp() * 1000)
        self._couriers.report_position(principal.user_id, position, now_ms, self._interval * 1000, self._ttl)
        placed = []
        for order in self._orders.carried_by(principal.user_id, rfc3339(moment - CARRY_WINDOW)):
            eta = domain.eta(position, order.delivery_address, moment, self._speed)
            if self._orders.place_courier(order.order_id, principal.user_id, position, eta):
                placed.append(order.order_id)
        return domain.PositionAccepted(
            courier_id=principal.user_id, location=domain.Position.model_validate(position), orders=placed
        )

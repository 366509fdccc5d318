"""Promo code use cases for admins: create, list, withdraw. Orders redeem codes
(``services/orders.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.adapters.promo_codes_repo import PromoCodesRepository
from chalicelib.domain import promos
from chalicelib.domain.clock import utc_now_text
from chalicelib.domain.errors import Conflict, FieldError, Forbidden, NotFound
from chalicelib.domain.paging import ListQuery, page_of
from chalicelib.domain.principal import Principal


class PromoCodesService:
    def __init__(self, repo: PromoCodesRepository, clock: Callable[[], str] = utc_now_text) -> None:
        self._repo = repo
        self._clock = clock

    def create(self, principal: Principal, cmd: promos.PromoCodeCreate) -> promos.PromoCode:
        _admin(principal)
        item = promos.new_code(cmd, self._clock())
        if not self._repo.create(item):
            raise Conflict(
                f"The promo code {item['code']} exists (or existed): choose another name",
                [FieldError("code", "this code is taken")],
            )
        return promos.PromoCode.model_validate(item)

    def list(self, principal: Principal, query: ListQuery) -> dict[str, Any]:
        _admin(principal)
        items, cursor = self._repo.page(limit=query.limit, cursor=query.cursor)
        return page_of([promos.PromoCode.model_validate(item).model_dump(mode="json") for item in items], cursor)

    def withdraw(self, principal: Principal, code: str) -> None:
        _admin(principal)
        canonical = promos.canonical(code)
        if not promos.valid_code(canonical) or not self._repo.withdraw(canonical, self._clock()):
            raise NotFound(f"No promo code {canonical!r}")


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only admins manage promo codes")

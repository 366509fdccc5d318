"""Catalog use cases: restaurants and their menus.

Public reads go through an in-process TTL cache (a warm menu read makes no AWS call);
every write drops what it made stale in this process. Writes are conditioned on what
they read, so concurrent edits and deletes never resurrect or corrupt an item.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.cache import TtlCache
from chalicelib.adapters.catalog_repo import CatalogTable, ProductsRepository, RestaurantsRepository
from chalicelib.domain import catalog as model
from chalicelib.domain import zones
from chalicelib.domain.clock import parse_rfc3339, utc_now_text
from chalicelib.domain.errors import Conflict, FieldError, Forbidden, NotFound
from chalicelib.domain.paging import ListQuery
from chalicelib.domain.principal import RESTAURANT_OWNERS, Principal, require_account

if TYPE_CHECKING:
    from chalicelib.adapters.identity import CognitoIdentity

RESTAURANT_LISTS = "restaurants"
WRITE_ATTEMPTS = 3


def _new_id() -> str:
    return str(uuid.uuid4())


class CatalogService:
    def __init__(
        self,
        restaurants: RestaurantsRepository,
        products: ProductsRepository,
        # Built when a restaurant is created, the only use of the user pool here: a menu
        # read's cold start does not load the Cognito adapter.
        identity: Callable[[], CognitoIdentity],
        cache: TtlCache,
        new_id: Callable[[], str] = _new_id,
        now: Callable[[], str] = utc_now_text,
    ) -> None:
        self._restaurants = restaurants
        self._products = products
        self._identity = identity
        self._cache = cache
        self._new_id = new_id
        self._now = now

    # --- restaurants -----------------------------------------------------------------

    def list_restaurants(self, query: model.RestaurantQuery) -> model.RestaurantPage:
        city = model.canonical_city(query.city) if query.city else None
        cuisine = model.canonical_cuisine(query.cuisine) if query.cuisine else None
        if query.nearby:
            return self._nearby(query, city, cuisine)

        def load() -> model.RestaurantPage:
            items, next_cursor = self._restaurants.page(
                city=city, cuisine=cuisine, limit=query.limit, cursor=query.cursor
            )
            moment = self._moment()
            shown = [zones.with_open_now(item, moment) for item in items]
            return model.RestaurantPage.model_validate({"items": shown, "next_cursor": next_cursor})

        key = ("restaurants", city, cuisine, query.limit, query.cursor)
        return self._cache.get_or_load(key, load, (RESTAURANT_LISTS,))

    def _nearby(self, query: model.RestaurantQuery, city: str | None, cuisine: str | None) -> model.RestaurantPage:
        """One Query per index cell around the point (each cell's restaurants kept in the
        read cache, whichever point asked), then each restaurant's own radius decides."""
        lat, lng = model.nearby_point(query)
        cells = zones.cells_around(lat, lng)
        found: dict[str, list[dict[str, Any]]] = {}
        for cell in cells:
            cached = self._cache.get(("geo_cell", cell))
            if cached is not None:
                found[cell] = cached
        missing = [cell for cell in cells if cell not in found]
        for cell, items in self._restaurants.in_cells(missing).items():
            self._cache.put(("geo_cell", cell), items, (RESTAURANT_LISTS,))
            found[cell] = items
        candidates = (item for items in found.values() for item in items)
        shown = zones.nearby(candidates, lat, lng, self._moment(), query.limit, cuisine=cuisine, city=city)
        return model.RestaurantPage.model_validate({"items": shown, "next_cursor": None})

    def get_restaurant(self, restaurant_id: str) -> model.Restaurant:
        return model.Restaurant.model_validate(self._shown(self._restaurant(restaurant_id)))

    def _moment(self) -> datetime:
        return parse_rfc3339(self._now())

    def _shown(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return zones.with_open_now(item, self._moment())

    def create_restaurant(self, principal: Principal, cmd: model.RestaurantCreate) -> model.ManagedRestaurant:
        if not principal.is_admin:
            raise Forbidden("Only admins add restaurants")
        try:
            # Also proves the owner exists before anything is written.
            self._identity().add_to_group(cmd.owner_id, RESTAURANT_OWNERS)
        except NotFound as exc:
            raise NotFound("The owner is not a known user", [FieldError("owner_id", "no user with this id")]) from exc
        item = model.new_restaurant(cmd, self._new_id(), self._now())
        if not self._restaurants.create(item):
            raise Conflict("A restaurant with this id exists already; retry")
        self._cache.invalidate(RESTAURANT_LISTS)
        return model.ManagedRestaurant.model_validate(self._shown(item))

    def update_restaurant(
        self, principal: Principal, restaurant_id: str, cmd: model.RestaurantUpdate
    ) -> model.ManagedRestaurant:
        current = self.managed_restaurant(principal, restaurant_id)
        updated = self._conditional_update(
            self._restaurants,
            restaurant_id,
            current,
            lambda item: model.restaurant_changes(item, cmd, self._now()),
            lambda item: {"owner_id": item["owner_id"], "name": item["name"]},
            model.restaurant_not_found(restaurant_id),
        )
        self._restaurant_changed(restaurant_id)
        return model.ManagedRestaurant.model_validate(self._shown(updated))

    def managed_restaurant(self, principal: Principal, restaurant_id: str) -> dict[str, Any]:
        """The restaurant item (read fresh, in the same call as the check that the caller's
        account still exists: 401), if ``principal`` may change it (404, then 403)."""
        restaurant, exists = (
            self._restaurants.get_for(restaurant_id, principal.user_id)
            if model.valid_id(restaurant_id)
            else (None, True)
        )
        require_account(exists)
        if restaurant is None:
            raise model.restaurant_not_found(restaurant_id)
        model.ensure_manages(principal, restaurant)
        return restaurant

    def set_restaurant_image(self, restaurant_id: str, key: str, url: str) -> model.ManagedRestaurant:
        changes = {"image_key": key, "image_url": url, "updated_at": self._now()}
        updated = self._restaurants.update(restaurant_id, changes)
        if updated is None:
            raise model.restaurant_not_found(restaurant_id)
        self._restaurant_changed(restaurant_id)
        return model.ManagedRestaurant.model_validate(self._shown(updated))

    # --- menus and products ----------------------------------------------------------

    def menu(self, restaurant_id: str, query: ListQuery) -> model.Menu:
        """One page of the public menu: one Query, or none when this process has it."""
        if not model.valid_id(restaurant_id):
            raise model.restaurant_not_found(restaurant_id)

        def load() -> model.Menu:
            items, next_cursor = self._products.menu_page(restaurant_id, limit=query.limit, cursor=query.cursor)
            if not items and query.cursor is None:
                self._restaurant(restaurant_id)  # an empty menu, or no such restaurant (404)
            # One validation of the whole page: a cold start builds one validator, not two.
            return model.Menu.model_validate({"items": items, "next_cursor": next_cursor})

        key = ("menu", restaurant_id, query.limit, query.cursor)
        return self._cache.get_or_load(key, load, (_menu_tag(restaurant_id),))

    def add_product(self, principal: Principal, restaurant_id: str, cmd: model.ProductCreate) -> model.Product:
        self.managed_restaurant(principal, restaurant_id)
        item = model.new_product(cmd, restaurant_id, self._new_id(), self._now())
        if not self._products.create(item):
            raise Conflict("A product with this id exists already; retry")
        self._cache.invalidate(_menu_tag(restaurant_id))
        return model.Product.model_validate(item)

    def get_product(self, product_id: str) -> model.Product:
        if not model.valid_id(product_id):
            raise model.product_not_found(product_id)
        item = self._cache.get_or_load(
            ("product", product_id), lambda: self._products.get(product_id), (_product_tag(product_id),)
        )
        if item is None:
            raise model.product_not_found(product_id)
        return model.Product.model_validate(item)

    def update_product(self, principal: Principal, product_id: str, cmd: model.ProductUpdate) -> model.Product:
        current = self.managed_product(principal, product_id)
        updated = self._conditional_update(
            self._products,
            product_id,
            current,
            lambda item: model.product_changes(item, cmd, self._now()),
            # menu_sort is derived from name and category: write it only over what it was derived from.
            lambda item: {"restaurant_id": item["restaurant_id"], "name": item["name"], "category": item["category"]},
            model.product_not_found(product_id),
        )
        self._product_changed(updated)
        return model.Product.model_validate(updated)

    def delete_product(self, principal: Principal, product_id: str) -> None:
        current = self.managed_product(principal, product_id)
        if not self._products.delete(product_id, {"restaurant_id": current["restaurant_id"]}):
            raise model.product_not_found(product_id)
        self._product_changed(current)

    def managed_product(self, principal: Principal, product_id: str) -> dict[str, Any]:
        """The product item (read fresh, with the account check of ``managed_restaurant``), if
        ``principal`` may change it (404, then 403)."""
        product, exists = (
            self._products.get_for(product_id, principal.user_id) if model.valid_id(product_id) else (None, True)
        )
        require_account(exists)
        if product is None:
            raise model.product_not_found(product_id)
        # A product never moves and an owner never changes: the cached restaurant will do.
        model.ensure_manages(principal, self._restaurant(product["restaurant_id"]))
        return product

    def set_product_image(self, product_id: str, key: str, url: str) -> model.Product:
        updated = self._products.update(product_id, {"image_key": key, "image_url": url, "updated_at": self._now()})
        if updated is None:
            raise model.product_not_found(product_id)
        self._product_changed(updated)
        return model.Product.model_validate(updated)

    # --- helpers ---------------------------------------------------------------------

    def _restaurant(self, restaurant_id: str) -> dict[str, Any]:
        if not model.valid_id(restaurant_id):
            raise model.restaurant_not_found(restaurant_id)
        item = self._cache.get_or_load(
            ("restaurant", restaurant_id),
            lambda: self._restaurants.get(restaurant_id),
            (_restaurant_tag(restaurant_id),),
        )
        if item is None:
            raise model.restaurant_not_found(restaurant_id)
        return item

    @staticmethod
    def _conditional_update(
        table: CatalogTable,
        item_id: str,
        current: dict[str, Any],
        changes_of: Callable[[dict[str, Any]], dict[str, Any]],
        guard_of: Callable[[dict[str, Any]], Mapping[str, Any]],
        not_found: NotFound,
    ) -> dict[str, Any]:
        """Read-modify-write: the write holds only if the item still is what the change was
        computed from; otherwise it is re-read and recomputed (a few times at most)."""
        for _ in range(WRITE_ATTEMPTS):
            updated = table.update(item_id, changes_of(current), guard_of(current))
            if updated is not None:
                return updated
            fresh = table.get(item_id)
            if fresh is None:
                raise not_found
            current = fresh
        raise Conflict("The item is being changed by someone else; retry")

    def _restaurant_changed(self, restaurant_id: str) -> None:
        self._cache.invalidate(_restaurant_tag(restaurant_id), RESTAURANT_LISTS)

    def _product_changed(self, product: Mapping[str, Any]) -> None:
        self._cache.invalidate(_product_tag(product["product_id"]), _menu_tag(product["restaurant_id"]))


def _menu_tag(restaurant_id: str) -> str:
    return f"menu:{restaurant_id}"


def _product_tag(product_id: str) -> str:
    return f"product:{product_id}"


def _restaurant_tag(restaurant_id: str) -> str:
    return f"restaurant:{restaurant_id}"

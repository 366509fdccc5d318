"""The pure parts of the catalog: the TTL cache, HTTP cache validators and domain rules."""

from __future__ import annotations

import pytest

from chalicelib.adapters.cache import TtlCache
from chalicelib.domain import catalog as model
from chalicelib.domain.errors import Forbidden, Unprocessable, ValidationFailed
from chalicelib.domain.principal import Principal
from chalicelib.entry.caching import cacheable_response, etag_of, matches
from tests.image_files import jpeg, png, webp


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_the_ttl():
    clock = Clock()
    cache = TtlCache(30, clock=clock)
    cache.put("k", "v")
    clock.now = 29.9
    assert cache.get("k") == "v"
    clock.now = 30.0
    assert cache.get("k") is None and len(cache) == 0


def test_invalidation_drops_tagged_entries_only():
    cache = TtlCache(30, clock=Clock())
    cache.put(("menu", "a", 20, None), 1, ["menu:a"])
    cache.put(("menu", "a", 50, None), 2, ["menu:a"])
    cache.put(("menu", "b", 20, None), 3, ["menu:b"])
    cache.invalidate("menu:a", "unknown-tag")
    assert cache.get(("menu", "a", 20, None)) is None and cache.get(("menu", "a", 50, None)) is None
    assert cache.get(("menu", "b", 20, None)) == 3


def test_size_is_bounded_and_oldest_goes_first():
    cache = TtlCache(30, max_entries=3, clock=Clock())
    for n in range(5):
        cache.put(n, n, [f"t{n}"])
    assert len(cache) == 3 and cache.get(0) is None and cache.get(4) == 4
    cache.invalidate("t0", "t1")  # already evicted: nothing to drop, no error
    assert len(cache) == 3


def test_zero_ttl_disables_caching_and_loads_every_time():
    cache = TtlCache(0)
    loads = []
    for _ in range(3):
        assert cache.get_or_load("k", lambda: loads.append(1) or "v") == "v"
    assert len(loads) == 3 and not cache.enabled


def test_missing_items_are_not_cached():
    cache = TtlCache(30, clock=Clock())
    assert cache.get_or_load("k", lambda: None) is None
    assert len(cache) == 0


def test_if_none_match():
    etag = etag_of("{}")
    assert matches(etag, etag) and matches(f"W/{etag}", etag) and matches(f'"x", {etag}', etag) and matches("*", etag)
    assert not matches(None, etag) and not matches('"x"', etag) and not matches(etag[:-2] + '"', etag)
    page = model.Menu(items=[])
    fresh = cacheable_response(page, None, 30)
    assert fresh.status_code == 200 and fresh.headers["ETag"] == etag_of(fresh.body)
    assert cacheable_response(page, fresh.headers["ETag"], 30).status_code == 304
    assert cacheable_response(page, None, 0).headers["Cache-Control"] == "no-cache"


def test_canonical_city_and_cuisine():
    assert model.canonical_city("  new   YORK ") == "New York" == model.canonical_city("New York")
    assert model.canonical_cuisine(" Thai  Street ") == "thai street"


def test_who_manages_a_restaurant():
    restaurant = {"owner_id": "u1"}
    model.ensure_manages(Principal("u1", roles=frozenset({"restaurant_owners"})), restaurant)
    model.ensure_manages(Principal("admin", roles=frozenset({"admins"})), restaurant)
    for principal in (
        Principal("u2", roles=frozenset({"restaurant_owners"})),
        Principal("u1", roles=frozenset({"customers"})),  # no longer an owner
    ):
        with pytest.raises(Forbidden):
            model.ensure_manages(principal, restaurant)


def test_image_keys_and_contents():
    prefix = model.image_prefix("products", "p1")
    model.check_image_key(prefix + "a" * 32, prefix)
    for bad in (prefix + "A" * 32, prefix + "a" * 31, "products/p2/" + "a" * 32, prefix + "a" * 32 + "/x"):
        with pytest.raises(ValidationFailed):
            model.check_image_key(bad, prefix)
    for content_type, data in (("image/png", png()), ("image/jpeg", jpeg()), ("image/webp", webp())):
        image = model.accepted_image(content_type, len(data), data[:65536], data[-12:])
        assert image.content_type == content_type and image.width > 0
        assert model.published_image_key(prefix + "a" * 32, image).startswith("images/" + prefix)
    refused = {
        "allowed": ("image/gif", b"GIF89a" + b"0" * 20),
        "limit": ("image/png", png() + b"0" * model.MAX_IMAGE_BYTES),
        "not a PNG": ("image/png", b"<html>" + b"0" * 40),
        "IHDR": ("image/png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script>"),
        "declared image/jpeg": ("image/jpeg", png()),
    }
    for reason, (content_type, data) in refused.items():
        with pytest.raises(Unprocessable) as caught:
            model.accepted_image(content_type, len(data), data[:65536], data[-12:])
        assert reason in caught.value.errors[0].message, (reason, caught.value.errors)

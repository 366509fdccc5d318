"""Catalog: restaurants, their menus and images. Request and response models, the
item shapes agreed with the orders work, and who may change what. Pure: no I/O."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from chalicelib.domain import geo, hours, pricing, zones
from chalicelib.domain.base import Omitted, RequestModel, ResponseModel, WholeNumber, text
from chalicelib.domain.errors import FieldError, Forbidden, NotFound, Unprocessable, ValidationFailed
from chalicelib.domain.images import ImageInfo, NotAnImage, identify
from chalicelib.domain.paging import ListQuery
from chalicelib.domain.principal import RESTAURANT_OWNERS, Principal

CURRENCY = "USD"
# A single menu line above $10,000 is a typo, not a dish.
MAX_PRICE_CENTS = 1_000_000
MAX_STOCK = 1_000_000
DEFAULT_CATEGORY = "Other"
LISTING = "restaurants"  # the one partition of the by_name index

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_IMAGE_BYTES = 5 * 1024 * 1024
PUBLISHED_IMAGES = "images/"  # the only prefix of the assets bucket the CDN serves

# Ids are generated here (UUIDs); anything else in a path cannot name an item.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Name = Annotated[str, text(120, 1)]
City = Annotated[str, text(80, 1)]
Cuisine = Annotated[str, text(40, 1)]
Address = Annotated[str, text(300, 1)]
Description = Annotated[str, text(2000, multiline=True)]
Category = Annotated[str, text(60, 1, also_refuse="#")]  # "#" separates the parts of menu_sort
PriceCents = Annotated[int, Field(gt=0, le=MAX_PRICE_CENTS), WholeNumber]
Stock = Annotated[int, Field(ge=0, le=MAX_STOCK), WholeNumber]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_CLOSURES = 100


def _usable_range(value: str) -> str:
    problem = hours.range_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _known_zone(value: str) -> str:
    hours.zone(value)  # ValueError for a name the time zone database does not have
    return value


def _real_date(value: str) -> str:
    if not hours.valid_date(value):
        raise ValueError(f"{value} is not a calendar date")
    return value


def _coordinate(value: float) -> float:
    return round(value, 7)  # about 1 cm, as an address's (chalicelib/domain/accounts.py)


# "HH:MM-HH:MM" in the restaurant's time zone; closing at or before opening runs past midnight.
TimeRange = Annotated[
    str,
    StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$"),
    AfterValidator(_usable_range),
]
OpeningHours = dict[Day, Annotated[list[TimeRange], Field(max_length=4)]]
TimeZone = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$"), AfterValidator(_known_zone)
]
ClosureDate = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"),
    AfterValidator(_real_date),
    Field(json_schema_extra={"format": "date"}),
]
HolidayClosures = Annotated[list[ClosureDate], Field(max_length=MAX_CLOSURES), AfterValidator(lambda d: sorted(set(d)))]
# A restaurant (and a lookup) only where deliveries are served; an address may be anywhere.
Latitude = Annotated[
    float, Field(ge=-geo.MAX_LATITUDE, le=geo.MAX_LATITUDE, allow_inf_nan=False), AfterValidator(_coordinate)
]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False), AfterValidator(_coordinate)]
RadiusKm = Annotated[float, Field(gt=0, le=geo.MAX_DELIVERY_RADIUS_KM, allow_inf_nan=False)]
HOURS_TEXT = (
    'Weekly hours in the restaurant\'s time zone, e.g. {"mon": ["11:00-14:30", "18:00-02:00"]}: a day left out '
    "is closed, a range closing at or before its opening runs past midnight, 00:00-24:00 is the whole day; "
    "null: open at every hour"
)
RADIUS_TEXT = "How far it delivers, in km from its location"


def canonical_city(city: str) -> str:
    """Cities are partition keys of by_city: "new  york" and "New York" must be one city."""
    return " ".join(word[:1].upper() + word[1:].lower() for word in city.split())


def canonical_cuisine(cuisine: str) -> str:
    return " ".join(cuisine.lower().split())


def valid_id(value: str) -> bool:
    return bool(_ID.match(value))


# --- requests ---------------------------------------------------------------------------


class _Patch(RequestModel):
    """PATCH bodies: only the fields sent change; ``null`` is refused except where it
    means "remove" (``NULLABLE``)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()
    min_properties: ClassVar[int] = 1

    @model_validator(mode="after")
    def _changes_something(self) -> _Patch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.NULLABLE:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class Location(RequestModel):
    lat: Latitude
    lng: Longitude


class RestaurantCreate(RequestModel):
    name: Name
    city: City
    cuisine: Cuisine
    address: Address
    owner_id: UserId
    is_open: bool = True
    opening_hours: OpeningHours | None = Field(None, description=HOURS_TEXT)
    location: Location | None = Field(None, description="Without one the restaurant delivers nowhere")
    delivery_radius_km: RadiusKm = Field(zones.DEFAULT_RADIUS_KM, description=RADIUS_TEXT)
    timezone: TimeZone = Field(zones.DEFAULT_TIMEZONE, description="IANA name; hours and closures are read in it")
    holiday_closures: HolidayClosures = Field(
        [], description="Local dates (YYYY-MM-DD) the restaurant is closed all day"
    )
    # Pricing terms (chalicelib/domain/pricing.py): fees in cents, rates as exact decimals.
    delivery_fee_cents: pricing.FeeCents = 0
    delivery_fee_per_km_cents: pricing.PerKmCents = 0
    service_fee_rate: pricing.Rate = pricing.ZERO
    min_order_cents: pricing.MinOrderCents = 0
    tax_rate: pricing.Rate = pricing.ZERO


class RestaurantUpdate(_Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"opening_hours"})

    name: Name | Omitted = None
    cuisine: Cuisine | Omitted = None
    address: Address | Omitted = None
    is_open: bool | Omitted = None
    opening_hours: OpeningHours | None = None
    location: Location | Omitted = None
    delivery_radius_km: RadiusKm | Omitted = None
    timezone: TimeZone | Omitted = None
    holiday_closures: HolidayClosures | Omitted = None
    delivery_fee_cents: pricing.FeeCents | Omitted = None
    delivery_fee_per_km_cents: pricing.PerKmCents | Omitted = None
    service_fee_rate: pricing.Rate | Omitted = None
    min_order_cents: pricing.MinOrderCents | Omitted = None
    tax_rate: pricing.Rate | Omitted = None


class RestaurantQuery(ListQuery):
    city: City | None = None
    cuisine: Cuisine | None = None
    lat: Latitude | None = Field(
        None, description="With `lng`: the restaurants whose delivery radius covers this point, nearest first"
    )
    lng: Longitude | None = Field(None, description="With `lat` (a listing by location is one page: no cursor)")

    @property
    def nearby(self) -> bool:
        return self.lat is not None or self.lng is not None


class ProductCreate(RequestModel):
    name: Name
    description: Description = ""
    price_cents: PriceCents
    category: Category = DEFAULT_CATEGORY
    stock: Stock | None = None
    available: bool = True


class ProductUpdate(_Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"stock"})  # null stock: unlimited

    name: Name | Omitted = None
    description: Description | Omitted = None
    price_cents: PriceCents | Omitted = None
    category: Category | Omitted = None
    stock: Stock | None = None
    available: bool | Omitted = None


ImageType = Literal["image/jpeg", "image/png", "image/webp"]


class ImageUploadRequest(RequestModel):
    """The type is pinned in the upload policy: an S3 POST policy cannot allow a set of
    exact types, and a prefix such as ``image/`` would admit SVG."""

    content_type: ImageType


class ImageConfirm(RequestModel):
    image_key: Annotated[str, text(300, 1)]


# --- responses --------------------------------------------------------------------------


class Snapshot(ResponseModel):
    """A response that the read cache hands out many times, never mutated once built:
    whatever the entry points render from it (its HTTP response) is kept here, made once."""

    @cached_property
    def renderings(self) -> dict[Any, Any]:
        return {}


class RestaurantSummary(ResponseModel):
    restaurant_id: str
    name: str
    city: str
    cuisine: str
    is_open: bool
    is_open_now: bool = Field(
        description="Taking orders now: switched on, within its opening hours and not on a holiday closure"
    )
    image_url: str | None = None
    distance_km: float | None = Field(
        None, description="Listings by `lat`/`lng` only: kilometres from the restaurant to that point"
    )


class LocationOut(ResponseModel):
    lat: float
    lng: float


class Restaurant(RestaurantSummary):
    address: str
    opening_hours: dict[str, list[str]] | None = None
    location: LocationOut | None = None
    delivery_radius_km: float | None = None
    timezone: str = zones.DEFAULT_TIMEZONE
    holiday_closures: list[str] = []
    # What an order here costs beyond its items (rates as decimal text, e.g. "0.0825").
    delivery_fee_cents: int = 0
    delivery_fee_per_km_cents: int = 0
    service_fee_rate: str = "0"
    min_order_cents: int = 0
    tax_rate: str = "0"
    created_at: str
    updated_at: str


class ManagedRestaurant(Restaurant):
    """What its owner and admins see after a write."""

    owner_id: str


class RestaurantPage(Snapshot):
    items: list[RestaurantSummary]
    next_cursor: str | None = None


class Product(ResponseModel):
    product_id: str
    restaurant_id: str
    name: str
    description: str = ""
    price_cents: int
    currency: str = CURRENCY
    category: str
    available: bool
    stock: int | None = None  # null: unlimited
    image_url: str | None = None
    created_at: str
    updated_at: str


class Menu(Snapshot):
    items: list[Product]
    next_cursor: str | None = None


class PresignedPost(ResponseModel):
    url: str
    fields: dict[str, str]


class ImageUpload(ResponseModel):
    upload: PresignedPost
    image_key: str
    expires_in: int


# --- items (the schema shared with the orders work) --------------------------------------


def name_sort(name: str, restaurant_id: str) -> str:
    return f"{name.lower()}#{restaurant_id}"


def menu_sort(category: str, name: str, product_id: str) -> str:
    return f"{category}#{name.lower()}#{product_id}"


def new_restaurant(cmd: RestaurantCreate, restaurant_id: str, now: str) -> dict[str, Any]:
    return {
        "restaurant_id": restaurant_id,
        "owner_id": cmd.owner_id,
        "name": cmd.name,
        "city": canonical_city(cmd.city),
        "cuisine": canonical_cuisine(cmd.cuisine),
        "address": cmd.address,
        "is_open": cmd.is_open,
        "opening_hours": cmd.opening_hours,
        "location": cmd.location.model_dump() if cmd.location else None,
        "geo_cell": zones.cell_of(cmd.location.model_dump()) if cmd.location else None,
        "delivery_radius_km": cmd.delivery_radius_km,
        "timezone": cmd.timezone,
        "holiday_closures": cmd.holiday_closures,
        **stored_terms(cmd.model_dump(include=set(pricing.TERM_NAMES))),
        "listing": LISTING,
        "name_sort": name_sort(cmd.name, restaurant_id),
        "created_at": now,
        "updated_at": now,
    }


def restaurant_changes(current: dict[str, Any], cmd: RestaurantUpdate, now: str) -> dict[str, Any]:
    """The attributes to set (``None``: remove), derived keys included."""
    changes = stored_terms(cmd.changes())
    if "cuisine" in changes:
        changes["cuisine"] = canonical_cuisine(changes["cuisine"])
    if "name" in changes:
        changes["name_sort"] = name_sort(changes["name"], current["restaurant_id"])
    if "location" in changes:
        changes["geo_cell"] = zones.cell_of(changes["location"])
    changes["updated_at"] = now
    return changes


def stored_terms(values: dict[str, Any]) -> dict[str, Any]:
    """Rates are stored as decimal text: DynamoDB numbers read back as floats."""
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in values.items()}


def new_product(cmd: ProductCreate, restaurant_id: str, product_id: str, now: str) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "restaurant_id": restaurant_id,
        "name": cmd.name,
        "description": cmd.description,
        "price_cents": cmd.price_cents,
        "currency": CURRENCY,
        "category": cmd.category,
        "available": cmd.available,
        "stock": cmd.stock,
        "menu_sort": menu_sort(cmd.category, cmd.name, product_id),
        "created_at": now,
        "updated_at": now,
    }


def product_changes(current: dict[str, Any], cmd: ProductUpdate, now: str) -> dict[str, Any]:
    changes = cmd.changes()
    if "name" in changes or "category" in changes:
        changes["menu_sort"] = menu_sort(
            changes.get("category", current["category"]),
            changes.get("name", current["name"]),
            current["product_id"],
        )
    changes["updated_at"] = now
    return changes


# --- who may change what -----------------------------------------------------------------


def ensure_manages(principal: Principal, restaurant: dict[str, Any]) -> None:
    """Admins manage every restaurant; an owner only their own (the catalog is public,
    so another owner's restaurant is 403, not hidden)."""
    if principal.is_admin:
        return
    if RESTAURANT_OWNERS in principal.roles and restaurant.get("owner_id") == principal.user_id:
        return
    raise Forbidden("Only this restaurant's owner or an admin can change it")


def nearby_point(query: RestaurantQuery) -> tuple[float, float]:
    """The point of a listing by location: both coordinates, and one page only (the nearest
    ``limit``: a cursor would not make the lookup cheaper, only the same reads again)."""
    errors = [FieldError(name, "send lat and lng together") for name in ("lat", "lng") if getattr(query, name) is None]
    if query.cursor is not None:
        errors.append(FieldError("cursor", "a listing by location is one page: raise limit (up to 100) instead"))
    if errors or query.lat is None or query.lng is None:
        raise ValidationFailed("The location listing needs lat and lng, and no cursor", errors)
    return query.lat, query.lng


def restaurant_not_found(restaurant_id: str) -> NotFound:
    return NotFound(f"No restaurant {restaurant_id!r}")


def product_not_found(product_id: str) -> NotFound:
    return NotFound(f"No product {product_id!r}")


# --- images ------------------------------------------------------------------------------


def image_prefix(kind: Literal["products", "restaurants"], owner_id: str) -> str:
    return f"{kind}/{owner_id}/"


def check_image_key(key: str, prefix: str) -> None:
    """Only keys the server handed out for this very item are accepted."""
    rest = key[len(prefix) :] if key.startswith(prefix) else ""
    if not re.fullmatch(r"[0-9a-f]{32}", rest):
        raise ValidationFailed(
            "The image key does not belong to this item", [FieldError("image_key", f"expected {prefix}<upload id>")]
        )


def accepted_image(declared: str, size: int, head: bytes, tail: bytes) -> ImageInfo:
    """The image an upload holds (its type read from the bytes, and agreeing with the type
    it was uploaded as), or a 422 that says why not."""
    try:
        if declared not in IMAGE_TYPES:
            raise NotAnImage(f"the upload is {declared or 'untyped'}; allowed: {', '.join(IMAGE_TYPES)}")
        if not 0 < size <= MAX_IMAGE_BYTES:
            raise NotAnImage(f"the upload is {size} bytes; the limit is {MAX_IMAGE_BYTES}")
        info = identify(head, tail, size)
        if info.content_type != declared:
            raise NotAnImage(f"the upload was declared {declared} but its bytes are {info.content_type}")
    except NotAnImage as exc:
        raise Unprocessable("The upload is not an acceptable image", [FieldError("image_key", str(exc))]) from exc
    return info


def published_image_key(upload_key: str, image: ImageInfo) -> str:
    """Where a checked upload is copied to be served: a key of its own, which no upload form
    can write (the CDN serves ``images/`` only)."""
    return f"{PUBLISHED_IMAGES}{upload_key}.{image.extension}"

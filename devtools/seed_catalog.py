"""Demo restaurants and menus, owned by owner@demo.chowline.dev, written through the catalog
service itself (the same validation and item shapes as the API); and the demo customer's
saved delivery address, with its coordinates, so checkout works without geolocation."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

OWNER_EMAIL = "owner@demo.chowline.dev"

# (name, city, cuisine, address, [(name, description, price_cents, category, stock), ...])
DEMO_RESTAURANTS: tuple[tuple[str, str, str, str, list[tuple[str, str, int, str, int]]], ...] = (
    (
        "Taqueria La Luna",
        "Austin",
        "mexican",
        "1201 E 6th St, Austin, TX 78702",
        [
            ("Al pastor taco", "Spit-roasted pork, pineapple, onion, cilantro", 425, "Tacos", 200),
            ("Carnitas taco", "Slow-braised pork, salsa verde", 425, "Tacos", 200),
            ("Mushroom taco", "Grilled oyster mushrooms, chipotle crema", 395, "Tacos", 150),
            ("Chicken burrito", "Rice, beans, pico de gallo, cheese", 1150, "Burritos", 80),
            ("Bean and cheese burrito", "Refried pinto beans, jack cheese", 850, "Burritos", 80),
            ("Chips and guacamole", "Made to order", 695, "Sides", 60),
            ("Elote", "Grilled corn, cotija, lime, chile", 550, "Sides", 60),
            ("Horchata", "Rice and cinnamon, 16 oz", 375, "Drinks", 120),
            ("Jamaica agua fresca", "Hibiscus, 16 oz", 375, "Drinks", 120),
        ],
    ),
    (
        "Pho Saigon",
        "Austin",
        "vietnamese",
        "8557 Research Blvd, Austin, TX 78758",
        [
            ("Pho tai", "Rare beef noodle soup", 1395, "Pho", 100),
            ("Pho ga", "Chicken noodle soup", 1295, "Pho", 100),
            ("Vegetable pho", "Tofu, bok choy, mushroom broth", 1250, "Pho", 60),
            ("Banh mi thit nuong", "Grilled pork baguette", 975, "Banh mi", 70),
            ("Banh mi chay", "Lemongrass tofu baguette", 925, "Banh mi", 70),
            ("Spring rolls", "Shrimp, herbs, peanut sauce (2)", 695, "Starters", 90),
            ("Imperial rolls", "Crispy pork rolls (4)", 750, "Starters", 90),
            ("Vietnamese iced coffee", "Condensed milk", 525, "Drinks", 150),
            ("Jasmine tea", "Hot, pot for one", 300, "Drinks", 150),
        ],
    ),
    (
        "Rose City Pizza",
        "Portland",
        "pizza",
        "2221 NE Alberta St, Portland, OR 97211",
        [
            ("Margherita", "San Marzano, mozzarella, basil", 1500, "Pizza", 40),
            ("Pepperoni", "Cup-and-char pepperoni", 1700, "Pizza", 40),
            ("Mushroom and leek", "Cremini, leek, fontina", 1750, "Pizza", 30),
            ("Hot honey sopressata", "Sopressata, chili honey", 1850, "Pizza", 30),
            ("Caesar salad", "Romaine, anchovy dressing, croutons", 1100, "Salads", 25),
            ("Garlic knots", "With marinara (6)", 650, "Sides", 50),
            ("Tiramisu", "House-made", 800, "Desserts", 20),
            ("Sparkling water", "12 oz can", 250, "Drinks", 200),
        ],
    ),
    (
        "Willow Bakery",
        "Portland",
        "bakery",
        "3530 SE Hawthorne Blvd, Portland, OR 97214",
        [
            ("Croissant", "Laminated butter dough", 425, "Pastry", 60),
            ("Pain au chocolat", "Two batons of dark chocolate", 475, "Pastry", 60),
            ("Morning bun", "Orange zest, cinnamon sugar", 475, "Pastry", 40),
            ("Cardamom knot", "Swedish-style, pearl sugar", 450, "Pastry", 40),
            ("Country loaf", "Naturally leavened, 1 kg", 900, "Bread", 20),
            ("Baguette", "Baked every two hours", 400, "Bread", 40),
            ("Drip coffee", "12 oz", 300, "Drinks", 200),
            ("Latte", "Double shot, 12 oz", 475, "Drinks", 150),
        ],
    ),
)


# Pricing terms per demo restaurant (Oregon has no sales tax).
DEMO_TERMS: dict[str, dict[str, Any]] = {
    "Taqueria La Luna": {"delivery_fee_cents": 199, "delivery_fee_per_km_cents": 35, "tax_rate": "0.0825"},
    "Pho Saigon": {
        "delivery_fee_cents": 249,
        "delivery_fee_per_km_cents": 40,
        "service_fee_rate": "0.05",
        "tax_rate": "0.0825",
    },
    "Rose City Pizza": {
        "delivery_fee_cents": 299,
        "delivery_fee_per_km_cents": 50,
        "service_fee_rate": "0.03",
        "min_order_cents": 1500,
    },
}
# The demo promo code: 10 % off from $15, five times per customer.
DEMO_PROMO_CODE = {"code": "LUNCH10", "percent_off": 10, "min_subtotal_cents": 1500, "max_uses_per_customer": 5}


EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AROUND_THE_CLOCK = {day: ["00:00-24:00"] for day in EVERY_DAY}


def closed_today_and_tomorrow(zone: str) -> list[str]:
    """Holiday closures that keep a restaurant closed whatever the hour of the seeding day (and
    the next, so a stack started just before midnight still has one closed restaurant)."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    return [today.isoformat(), (today + timedelta(days=1)).isoformat()]


# Where each demo restaurant is and when it takes orders. The three the tests and the load
# test order from are open at every hour; the bakery is closed on the seeding day.
DEMO_ZONES: dict[str, dict[str, Any]] = {
    "Taqueria La Luna": {
        "location": {"lat": 30.2631, "lng": -97.7289},
        "delivery_radius_km": 8,
        "timezone": "America/Chicago",
        "opening_hours": AROUND_THE_CLOCK,
    },
    "Pho Saigon": {
        "location": {"lat": 30.3616, "lng": -97.7170},
        "delivery_radius_km": 12,
        "timezone": "America/Chicago",
    },
    "Rose City Pizza": {
        "location": {"lat": 45.5590, "lng": -122.6431},
        "delivery_radius_km": 6,
        "timezone": "America/Los_Angeles",
        "opening_hours": AROUND_THE_CLOCK,
    },
    "Willow Bakery": {
        "location": {"lat": 45.5122, "lng": -122.6270},
        "delivery_radius_km": 4,
        "timezone": "America/Los_Angeles",
        "opening_hours": {day: ["07:00-15:00"] for day in EVERY_DAY[:6]},
    },
}
# Chosen each time the catalog is seeded (a date in the restaurant's own zone).
CLOSED_NOW = "Willow Bakery"


def zone_fields(name: str) -> dict[str, Any]:
    fields = dict(DEMO_ZONES[name])
    if name == CLOSED_NOW:
        fields["holiday_closures"] = closed_today_and_tomorrow(fields["timezone"])
    return fields


def owner_id(clients: Any, user_pool_id: str, email: str = OWNER_EMAIL) -> str:
    user = clients.get("cognito-idp").admin_get_user(UserPoolId=user_pool_id, Username=email)
    return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")


def seed_catalog(env: dict[str, str]) -> None:
    from chalicelib.bootstrap import Container
    from chalicelib.domain import catalog as model
    from chalicelib.domain.principal import ADMINS, Principal
    from chalicelib.domain.promos import PromoCodeCreate
    from chalicelib.settings import Settings

    container = Container(Settings.from_env({**os.environ, **env}))
    catalog = container.catalog
    if catalog.list_restaurants(model.RestaurantQuery(limit=1)).items:
        return  # seeded already
    owner = owner_id(container.clients, container.settings.user_pool_id)
    # The demo admin (catalog writes need an account that exists).
    admin_email = "admin@demo.chowline.dev"
    admin_id = owner_id(container.clients, container.settings.user_pool_id, admin_email)
    admin = Principal(user_id=admin_id, email=admin_email, roles=frozenset({ADMINS}))

    def add(name: str, description: str, price: int, category: str, stock: int, restaurant_id: str) -> None:
        cmd = model.ProductCreate(name=name, description=description, price_cents=price, category=category, stock=stock)
        catalog.add_product(admin, restaurant_id, cmd)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = []
        for name, city, cuisine, address, products in DEMO_RESTAURANTS:
            create = model.RestaurantCreate.model_validate(
                {"name": name, "city": city, "cuisine": cuisine, "address": address, "owner_id": owner}
                | DEMO_TERMS.get(name, {})
                | zone_fields(name)
            )
            restaurant = catalog.create_restaurant(admin, create)
            futures += [pool.submit(add, *product, restaurant.restaurant_id) for product in products]
        for future in futures:
            future.result()
    container.promo_codes.create(admin, PromoCodeCreate.model_validate(DEMO_PROMO_CODE))
    seed_customer_address(container)


def seed_customer_address(container: Any) -> None:
    from chalicelib.domain.accounts import ProfileUpdate
    from chalicelib.domain.principal import Principal
    from chalicelib.entry.examples import ADDRESS, DEMO_CUSTOMER

    customer_id = owner_id(container.clients, container.settings.user_pool_id, DEMO_CUSTOMER)
    principal = Principal(user_id=customer_id, email=DEMO_CUSTOMER, roles=frozenset({"customers"}))
    container.accounts.update_profile(principal, ProfileUpdate.model_validate({"addresses": [ADDRESS]}))

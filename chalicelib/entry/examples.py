"""Request bodies that work as they are on the local stack (``make run``), for the OpenAPI
document's examples and the "Try it" forms of ``/docs``: the demo accounts and the test
payment token of every non-production stage. Keyed by request model; the ids of a real
restaurant and product are filled in by ``/docs`` from the catalog it reads."""

from __future__ import annotations

from typing import Any

# The demo accounts of the local stack (API.md; devtools/seed.py creates them with these).
DEMO_CUSTOMER = "customer@demo.chowline.dev"
DEMO_PASSWORD = "Chowline-demo-1"  # noqa: S105  (public: it exists only on local stacks)
# Stand-ins that /docs replaces with the first restaurant and product the catalog lists.
RESTAURANT_ID = "restaurant-id"
PRODUCT_ID = "product-id"
ADDRESS = {
    "label": "Home",
    "line1": "1105 E 7th St",
    "city": "Austin",
    "postcode": "78702",
    "lat": 30.2650,
    "lng": -97.7310,
}

REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "SignUp": {"email": "new-customer@example.com", "password": "Chowline-new-1", "name": "New Customer"},
    "Confirm": {"email": "new-customer@example.com", "code": "123456"},
    "Login": {"email": DEMO_CUSTOMER, "password": DEMO_PASSWORD},
    "Refresh": {"refresh_token": "<the refresh_token of /auth/login>"},
    "ProfileUpdate": {"name": "Casey Customer", "addresses": [ADDRESS]},
    "PlaceOrder": {
        "restaurant_id": RESTAURANT_ID,
        "items": [{"product_id": PRODUCT_ID, "quantity": 1}],
        "delivery_address": ADDRESS,
        "payment_token": "tok_visa",
        "notes": "Ring the bell",
        "tip_cents": 200,
    },
    "OrderDraft": {
        "restaurant_id": RESTAURANT_ID,
        "items": [{"product_id": PRODUCT_ID, "quantity": 2}],
        "tip_cents": 200,
        "promo_code": "LUNCH10",
    },
    "StatusChange": {"status": "ACCEPTED"},
    "RestaurantCreate": {
        "name": "Taqueria del Sol",
        "city": "Austin",
        "cuisine": "mexican",
        "address": "500 Congress Ave, Austin, TX 78701",
        # a user's id: `make find-user EMAIL=...` prints it
        "owner_id": "00000000-0000-4000-8000-000000000000",
        "delivery_fee_cents": 199,
        "delivery_fee_per_km_cents": 35,
        "min_order_cents": 1000,
        "tax_rate": "0.0825",
        "location": {"lat": 30.2686, "lng": -97.7425},
        "delivery_radius_km": 6,
        "timezone": "America/Chicago",
        "opening_hours": {"mon": ["11:00-22:00"], "fri": ["11:00-02:00"], "sat": ["10:00-02:00"]},
        "holiday_closures": ["2026-12-25"],
    },
    "RestaurantUpdate": {"is_open": False},
    "ProductCreate": {"name": "Fish taco", "description": "Beer-battered cod", "price_cents": 450, "stock": 50},
    "ProductUpdate": {"price_cents": 475},
    "PromoCodeCreate": {
        "code": "SPRING15",
        "percent_off": 15,
        "min_subtotal_cents": 2000,
        "starts_at": "2026-03-20T00:00:00Z",
        "ends_at": "2026-06-21T00:00:00Z",
        "max_uses": 500,
        "max_uses_per_customer": 1,
    },
}


def request_example(model: Any) -> dict[str, Any] | None:
    return REQUEST_EXAMPLES.get(getattr(model, "__name__", ""))

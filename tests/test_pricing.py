"""Pricing on its own (pure: no emulator): a table of cases priced to the exact cent, the
breakdown's identity over random orders, promo code applicability, and the restaurant
terms as requests take them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.domain import catalog, errors, promos
from chalicelib.domain import orders as domain
from chalicelib.domain.pricing import MAX_TIP_CENTS, Discount, Terms, breakdown
from chalicelib.entry.problems import from_error

D = Decimal
PLAIN = Terms()
TEXAS = Terms(delivery_fee_cents=299, tax_rate=D("0.0825"))

# (case, subtotal, terms, distance_km, tip, discount) -> (delivery, service, tax, discount, total)
CASES = [
    ("items only", 1250, PLAIN, None, 0, None, (0, 0, 0, 0, 1250)),
    ("base delivery fee", 1250, Terms(delivery_fee_cents=399), None, 0, None, (399, 0, 0, 0, 1649)),
    ("per-km fee without a distance: the base only", 1000, Terms(199, 50), None, 0, None, (199, 0, 0, 0, 1199)),
    ("per-km fee: 199 + 50 x 3.2 km", 1000, Terms(199, 50), 3.2, 0, None, (359, 0, 0, 0, 1359)),
    ("per-km fee rounds half-even: 35 x 0.5 = 17.5 -> 18", 1000, Terms(0, 35), 0.5, 0, None, (18, 0, 0, 0, 1018)),
    ("per-km fee rounds half-even: 25 x 0.5 = 12.5 -> 12", 1000, Terms(0, 25), 0.5, 0, None, (12, 0, 0, 0, 1012)),
    ("service fee 5 %", 2010, Terms(service_fee_rate=D("0.05")), None, 0, None, (0, 100, 0, 0, 2110)),
    (
        "service fee .5 cent to even: 5 % of 1010 = 50.5 -> 50",
        1010,
        Terms(service_fee_rate=D("0.05")),
        None,
        0,
        None,
        (0, 50, 0, 0, 1060),
    ),
    ("tax on items and delivery: 8.25 % of 2799 = 230.9175", 2500, TEXAS, None, 0, None, (299, 0, 231, 0, 3030)),
    (
        "tax .5 cent down to even: 10 % of 1005 = 100.5 -> 100",
        1005,
        Terms(tax_rate=D("0.1")),
        None,
        0,
        None,
        (0, 0, 100, 0, 1105),
    ),
    (
        "tax .5 cent up to even: 10 % of 1015 = 101.5 -> 102",
        1015,
        Terms(tax_rate=D("0.1")),
        None,
        0,
        None,
        (0, 0, 102, 0, 1117),
    ),
    ("tip is not taxed", 2500, TEXAS, None, 500, None, (299, 0, 231, 0, 3530)),
    (
        "every fee: 8 % of (1500 + 250 + 75)",
        1500,
        Terms(250, 0, D("0.05"), 0, D("0.08")),
        None,
        200,
        None,
        (250, 75, 146, 0, 2171),
    ),
    (
        "percent off 10 %, tax on the discounted items",
        2500,
        TEXAS,
        None,
        0,
        Discount(percent_off=10),
        (299, 0, 210, 250, 2759),
    ),
    (
        "percent off rounds half-even: 15 % of 1010 = 151.5 -> 152",
        1010,
        PLAIN,
        None,
        0,
        Discount(percent_off=15),
        (0, 0, 0, 152, 858),
    ),
    ("amount off 5.00", 2500, PLAIN, None, 0, Discount(amount_off_cents=500), (0, 0, 0, 500, 2000)),
    (
        "amount off over the subtotal: the items only are free",
        800,
        Terms(delivery_fee_cents=299),
        None,
        100,
        Discount(amount_off_cents=5000),
        (299, 0, 0, 800, 399),
    ),
    (
        "100 % off with no fees and no tip: nothing to pay",
        800,
        PLAIN,
        None,
        0,
        Discount(percent_off=100),
        (0, 0, 0, 800, 0),
    ),
    ("exactly the minimum", 1500, Terms(min_order_cents=1500), None, 0, None, (0, 0, 0, 0, 1500)),
]


@pytest.mark.parametrize(
    ("case", "subtotal", "terms", "km", "tip", "discount", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_pricing_table(case, subtotal, terms, km, tip, discount, expected):
    money = breakdown(subtotal, terms, distance_km=km, tip_cents=tip, discount=discount or Discount())
    got = (money.delivery_fee_cents, money.service_fee_cents, money.tax_cents, money.discount_cents, money.total_cents)
    assert got == expected
    assert money.subtotal_cents == subtotal and money.tip_cents == tip


def test_below_the_minimum_is_a_422_that_says_so():
    with pytest.raises(errors.Refused) as refused:
        breakdown(1499, Terms(min_order_cents=1500), distance_km=None)
    response = from_error(refused.value)
    assert response.status_code == 422
    assert '"type": "https://chowline.dev/problems/below_minimum_order"' in response.body
    # The minimum is on the subtotal before the discount: a code cannot push an order below it.
    assert breakdown(1500, Terms(min_order_cents=1500), distance_km=None, discount=Discount(percent_off=50))


RATES = st.decimals(min_value=0, max_value=D("0.25"), places=4)
TERMS = st.builds(
    Terms,
    delivery_fee_cents=st.integers(0, 10_000),
    delivery_fee_per_km_cents=st.integers(0, 1_000),
    service_fee_rate=RATES,
    tax_rate=RATES,
)
DISCOUNTS = st.one_of(
    st.builds(Discount, percent_off=st.integers(1, 100)),
    st.builds(Discount, amount_off_cents=st.integers(1, 100_000)),
    st.just(Discount()),
)


@given(
    subtotal=st.integers(0, 1_000_000),
    terms=TERMS,
    km=st.one_of(st.none(), st.floats(0, 50, allow_nan=False)),
    tip=st.integers(0, MAX_TIP_CENTS),
    discount=DISCOUNTS,
)
def test_the_total_is_the_sum_of_the_breakdown_and_never_negative(subtotal, terms, km, tip, discount):
    m = breakdown(subtotal, terms, distance_km=km, tip_cents=tip, discount=discount)
    fees = m.delivery_fee_cents + m.service_fee_cents
    assert m.total_cents == m.subtotal_cents + fees + m.tax_cents + m.tip_cents - m.discount_cents
    assert m.total_cents >= 0 and 0 <= m.discount_cents <= m.subtotal_cents
    taxable = m.subtotal_cents - m.discount_cents + fees
    assert abs(m.tax_cents - taxable * terms.tax_rate) <= D("0.5")
    assert m.delivery_fee_cents >= terms.delivery_fee_cents and m.tip_cents == tip


# --- promo codes at placement ---------------------------------------------------------------

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CODE = {
    "code": "LUNCH10",
    "percent_off": 10,
    "min_subtotal_cents": 1500,
    "starts_at": "2026-06-01T11:00:00.000Z",
    "ends_at": "2026-06-01T14:00:00.000Z",
    "max_uses": 5,
    "max_uses_per_customer": 1,
    "restaurant_ids": ["r-1", "r-2"],
    "uses": 2,
}


def apply(definition=CODE, customer_uses=0, restaurant_id="r-1", subtotal=2000, at=NOON):
    return promos.applicable(
        "LUNCH10", definition, customer_uses, restaurant_id=restaurant_id, subtotal_cents=subtotal, at=at
    )


def test_a_code_that_applies_gives_its_discount_and_limits():
    redemption = apply()
    assert redemption.code == "LUNCH10" and redemption.per_customer_limit == 1
    assert redemption.discount.cents(2000) == 200


@pytest.mark.parametrize(
    ("changes", "slug"),
    [
        ({"definition": None}, "promo_code_unknown"),
        ({"at": datetime(2026, 6, 1, 10, 59, tzinfo=UTC)}, "promo_code_not_yet_valid"),
        ({"at": datetime(2026, 6, 1, 14, 0, tzinfo=UTC)}, "promo_code_expired"),
        ({"restaurant_id": "r-3"}, "promo_code_wrong_restaurant"),
        ({"subtotal": 1499}, "promo_code_below_minimum"),
        ({"definition": {**CODE, "uses": 5}}, "promo_code_exhausted"),
        ({"customer_uses": 1}, "promo_code_exhausted"),
    ],
)
def test_a_code_that_does_not_apply_is_a_422_naming_why(changes, slug):
    with pytest.raises(errors.Refused) as refused:
        apply(**changes)
    assert refused.value.type == slug and refused.value.status == 422
    assert [e.field for e in refused.value.errors] == ["promo_code"]


def test_a_code_is_one_of_percent_or_amount_and_its_window_runs_forward():
    base = {"code": "spring-5"}
    assert promos.PromoCodeCreate.model_validate({**base, "amount_off_cents": 500}).code == "spring-5"
    for bad in (
        base,
        {**base, "percent_off": 10, "amount_off_cents": 500},
        {**base, "percent_off": 101},
        {**base, "percent_off": 10, "starts_at": "2026-06-02T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"},
        {**base, "percent_off": 10, "starts_at": "2026-06-02T00:00:00"},  # no time zone
        {"code": "no spaces", "percent_off": 10},
    ):
        with pytest.raises(ValidationError):
            promos.PromoCodeCreate.model_validate(bad)
    item = promos.new_code(
        promos.PromoCodeCreate.model_validate({**base, "percent_off": 5}), "2026-01-01T00:00:00.000Z"
    )
    assert item["code"] == "SPRING-5" and item["uses"] == 0 and "max_uses" not in item


# --- restaurant terms -------------------------------------------------------------------------

RESTAURANT = {"name": "A", "city": "Austin", "cuisine": "tex-mex", "address": "1 Main St", "owner_id": "u-1"}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("0.0825", "0.0825"), (0.0825, "0.0825"), ("0.2500", "0.25"), (0, "0"), (0.1234567, "0.123457")],
)
def test_tax_rates_are_exact_decimals(sent, stored):
    cmd = catalog.RestaurantCreate.model_validate({**RESTAURANT, "tax_rate": sent})
    item = catalog.new_restaurant(cmd, "r-1", "2026-01-01T00:00:00.000Z")
    assert item["tax_rate"] == stored and Terms.of(item).tax_rate == D(stored)


@pytest.mark.parametrize(
    "bad",
    [
        {"tax_rate": "0.26"},
        {"tax_rate": 0.3},
        {"tax_rate": -0.01},
        {"tax_rate": "8.25%"},
        {"tax_rate": True},
        {"service_fee_rate": "0.5"},
        {"delivery_fee_cents": -1},
        {"delivery_fee_cents": 10_001},
        {"delivery_fee_per_km_cents": 2.5},
        {"min_order_cents": "1000"},
    ],
)
def test_bad_terms_are_refused(bad):
    with pytest.raises(ValidationError):
        catalog.RestaurantCreate.model_validate({**RESTAURANT, **bad})
    with pytest.raises(ValidationError):
        catalog.RestaurantUpdate.model_validate(bad)


def test_an_order_is_priced_from_the_catalog_and_the_terms():
    restaurant = {"restaurant_id": "r-1", "is_open": True, **catalog.stored_terms({"tax_rate": D("0.1")})}
    restaurant["delivery_fee_cents"] = 300
    products = {"p-1": {"restaurant_id": "r-1", "available": True, "price_cents": 1005, "name": "Soup"}}
    cmd = domain.PlaceOrder.model_validate(
        {
            "restaurant_id": "r-1",
            "items": [{"product_id": "p-1", "quantity": 2}],
            "delivery_address": {
                "label": "home",
                "line1": "1 Main St",
                "city": "Austin",
                "postcode": "78701",
                "lat": 30.27,
                "lng": -97.74,
            },
            "payment_token": "tok_visa",
            "tip_cents": 150,
            "promo_code": "lunch10",
        }
    )
    priced = domain.price(cmd, restaurant, products, distance_km=None, promo=domain.PromoRead(CODE), at=NOON)
    # 2010 - 201 (10 %) + 300 = 2109 taxable -> 210.9 -> 211 tax
    assert priced.money.as_dict() == {
        "subtotal_cents": 2010,
        "delivery_fee_cents": 300,
        "service_fee_cents": 0,
        "tax_cents": 211,
        "tip_cents": 150,
        "discount_cents": 201,
        "total_cents": 2470,
    }
    assert priced.redemption and priced.redemption.code == "LUNCH10"
    with pytest.raises(ValidationError):
        domain.PlaceOrder.model_validate({**cmd.model_dump(mode="json"), "tip_cents": MAX_TIP_CENTS + 1})
    with pytest.raises(ValidationError):
        domain.PlaceOrder.model_validate({**cmd.model_dump(mode="json"), "total_cents": 1})

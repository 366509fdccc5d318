"""The web app in a real browser (Debian's Chromium through Playwright) against the real
local stack: the three roles move one order from cart to door, each page updating by
itself; plus errors, a double click, the 390 px layout, image uploads and an axe check.

``make test`` provides Chromium (see the Makefile); without it this module fails and says
how to get it, unless SKIP_BROWSER=1 opts out.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from devtools.seed import DEMO_PASSWORD
from tests.live_socket import LiveSocket
from tests.localstack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CUSTOMER = "customer@demo.chowline.dev"
OWNER = "owner@demo.chowline.dev"
COURIER = "courier@demo.chowline.dev"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
# Long enough for the order pipeline and the polling fallback; not a timing assertion.
LIVE_TIMEOUT_MS = 30_000

if os.environ.get("SKIP_BROWSER") == "1":
    pytest.skip("SKIP_BROWSER=1: the browser tests were opted out", allow_module_level=True)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalStack]:
    stack = LocalStack().start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:  # Debian's Chromium, else the one `playwright install chromium` downloaded
            instance = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        except Error as error:
            pytest.fail(
                f"No Chromium: run `apt-get install chromium` or `make browser` (SKIP_BROWSER=1 skips): {error}"
            )
        yield instance
        instance.close()


def new_page(browser: Any, local: LocalStack, viewport: dict[str, int] = PHONE, **options: Any) -> Any:
    context = browser.new_context(viewport=viewport, base_url=local.url, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return page


def sign_in(page: Any, email: str, then: str = "") -> None:
    page.goto(f"/#/sign-in{'?next=' + then if then else ''}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def mark_loaded(page: Any) -> None:
    """A marker that a reload or a navigation away would erase."""
    page.evaluate("window.__sameDocument = true")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def fill_cart(page: Any, restaurant: str, *products: str) -> None:
    page.goto("/#/restaurants")
    page.get_by_role("link", name=restaurant).click()
    for product in products:
        page.get_by_role("button", name=f"Add {product}").click()
    page.get_by_role("link", name="Go to cart").click()


def fill_checkout(page: Any) -> None:
    page.get_by_label("Street address").fill("500 Congress Ave")
    page.get_by_label("City").fill("Austin")
    page.get_by_label("Postcode").fill("78701")
    page.get_by_label("Latitude").fill("30.2686")
    page.get_by_label("Longitude").fill("-97.7425")
    page.get_by_label("Payment").select_option("tok_visa")


def api_token(local: LocalStack, email: str) -> str:
    tokens = local.http.post(
        f"{local.url}/api/auth/login", json={"email": email, "password": DEMO_PASSWORD}, timeout=10
    )
    return str(tokens.json()["id_token"])


def my_orders(local: LocalStack, token: str) -> list[dict[str, Any]]:
    out = local.http.get(f"{local.url}/api/orders?limit=100", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return list(out.json()["items"])


def ticket(page: Any, order_id: str) -> Any:
    return page.locator(f'article[data-order-id="{order_id}"]')


def test_an_order_travels_from_cart_to_door_and_every_role_sees_it_live(browser: Any, local: LocalStack) -> None:
    owner = new_page(browser, local, TABLET)
    sign_in(owner, OWNER)
    owner.get_by_role("heading", name="Orders board").wait_for()
    mark_loaded(owner)
    # The courier's phone shares its position once the order is picked up (Austin, near the address).
    courier = new_page(
        browser, local, geolocation={"latitude": 30.2700, "longitude": -97.7400}, permissions=["geolocation"]
    )
    sign_in(courier, COURIER)
    courier.get_by_role("heading", name="Ready for pickup").wait_for()
    courier.get_by_label("Available for deliveries").check()
    courier.get_by_text("You are on shift").wait_for()
    mark_loaded(courier)

    customer = new_page(browser, local)
    customer.goto("/#/restaurants")
    customer.get_by_role("link", name="Pho Saigon").wait_for()
    customer.screenshot(path=str(DOCS / "screenshot-customer.png"))
    fill_cart(customer, "Pho Saigon", "Pho tai", "Spring rolls")
    customer.get_by_role("link", name="Sign in to order").click()
    customer.get_by_label("Email").fill(CUSTOMER)
    customer.get_by_label("Password").fill(DEMO_PASSWORD)
    customer.get_by_role("button", name="Sign in").click()
    fill_checkout(customer)  # the cart survived signing in
    # The server's price for the saved address, 10.6 km from Pho Saigon: 2090 of items, 674
    # delivery (249 + 40 per km), 104 service (5 %, 104.5 to even), then a $2 tip and LUNCH10
    # (-209): 8.25 % tax on 2090 - 209 + 674 + 104 = 219.37 -> 219; 3078 in all.
    price = customer.get_by_label("Price breakdown")
    expect(price).to_contain_text("Service fee")
    customer.get_by_label("Tip for the courier").select_option("200")
    customer.get_by_label("Promo code").fill("lunch10")
    customer.get_by_role("button", name="Apply").click()
    expect(price).to_contain_text("Discount (LUNCH10)")
    expect(price).to_contain_text("$30.78")
    customer.get_by_role("button", name="Place order").click()
    customer.wait_for_url(re.compile(r"#/orders/[\w-]+$"), wait_until="commit")
    order_id = customer.url.rsplit("/", 1)[1]
    status = customer.get_by_role("status")
    expect(customer.get_by_label("Price breakdown")).to_contain_text("$30.78")
    mark_loaded(customer)

    card = ticket(owner, order_id)
    card.get_by_role("button", name="Accept").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "Pho tai" in card.inner_text()
    owner.screenshot(path=str(DOCS / "screenshot-restaurant.png"))
    card.get_by_role("button", name="Accept").click()
    card.get_by_role("button", name="Start preparing").click()
    card.get_by_role("button", name="Ready").click()
    card.get_by_text("Waiting for a courier").wait_for()
    assert_not_reloaded(owner)

    delivery = ticket(courier, order_id)
    delivery.get_by_role("button", name="Claim").wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "500 Congress Ave" in delivery.inner_text()
    courier.screenshot(path=str(DOCS / "screenshot-courier.png"))
    delivery.get_by_role("button", name="Claim").click()
    current = courier.get_by_role("region", name="Your current delivery")
    current.get_by_role("button", name="Pick up").click()
    current.get_by_role("button", name="Delivered").wait_for()
    assert "500 Congress Ave" in current.inner_text()
    # While it is carried the customer sees where the courier is.
    on_its_way = customer.get_by_role("region", name="Your courier")
    expect(on_its_way).to_contain_text("30.27000", timeout=LIVE_TIMEOUT_MS)
    current.get_by_role("button", name="Delivered").click()
    current.get_by_text("None: claim one below.").wait_for()
    assert_not_reloaded(courier)

    expect(status).to_have_text("Delivered", timeout=LIVE_TIMEOUT_MS)
    assert status.inner_text() == "Delivered"
    expect(on_its_way).to_be_hidden()
    timeline = customer.get_by_role("list", name="Timeline").inner_text()
    for step in ("Pending", "Confirmed", "Accepted", "Preparing", "Ready", "Picked up", "Delivered"):
        assert step in timeline
    customer.screenshot(path=str(DOCS / "screenshot-order.png"))
    assert_not_reloaded(customer)
    for page in (owner, courier, customer):
        assert page.js_errors == []
        page.context.close()


def place_order_by_api(local: LocalStack, token: str, restaurant: str, product: str) -> str:
    restaurants = local.http.get(f"{local.url}/api/restaurants", timeout=10).json()["items"]
    restaurant_id = next(r["restaurant_id"] for r in restaurants if r["name"] == restaurant)
    menu = local.http.get(f"{local.url}/api/restaurants/{restaurant_id}/products?limit=100", timeout=10).json()
    product_id = next(p["product_id"] for p in menu["items"] if p["name"] == product)
    body = {
        "restaurant_id": restaurant_id,
        "items": [{"product_id": product_id, "quantity": 1}],
        "delivery_address": {
            "label": "Home",
            "line1": "9 Elm St",
            "city": "Austin",
            "postcode": "78702",
            "lat": 30.2622,
            "lng": -97.7250,
        },
        "payment_token": "tok_visa",
    }
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"browser-{uuid.uuid4()}"}
    placed = local.http.post(f"{local.url}/api/orders", json=body, headers=headers, timeout=10)
    assert placed.status_code == 202, placed.text
    return str(placed.json()["order_id"])


def test_the_owner_rejects_with_a_reason_that_a_refresh_does_not_wipe(browser: Any, local: LocalStack) -> None:
    token = api_token(local, CUSTOMER)
    order_id = place_order_by_api(local, token, "Taqueria La Luna", "Elote")
    owner = new_page(browser, local, TABLET)
    sign_in(owner, OWNER)
    card = ticket(owner, order_id)
    card.get_by_role("button", name="Reject").click()
    card.get_by_label("Reason").fill("Out of corn today")
    owner.wait_for_timeout(4000)  # longer than a polling round
    assert card.get_by_label("Reason").input_value() == "Out of corn today"
    card.get_by_role("button", name="Confirm").click()
    card.wait_for(state="detached")
    order = local.http.get(
        f"{local.url}/api/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert order.json()["status"] == "REJECTED" and order.json()["reason"] == "Out of corn today"
    owner.context.close()


def test_a_wrong_password_shows_a_readable_error(browser: Any, local: LocalStack) -> None:
    page = new_page(browser, local)
    page.goto("/#/sign-in")
    page.get_by_label("Email").fill(CUSTOMER)
    page.get_by_label("Password").fill("not-the-password-1")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert").filter(has_text=re.compile("password", re.I))
    alert.wait_for()
    text = alert.inner_text()
    assert "{" not in text and "401" not in text
    assert page.get_by_role("button", name="Sign out").count() == 0
    page.context.close()


def test_field_errors_appear_beside_their_fields(browser: Any, local: LocalStack) -> None:
    page = new_page(browser, local)
    page.goto("/#/sign-up")
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Create account").click()
    email = page.get_by_label("Email")
    page.locator("[aria-invalid=true]").first.wait_for()
    assert email.get_attribute("aria-invalid") == "true"
    message = page.locator(f"#{email.get_attribute('aria-describedby')}")
    assert message.is_visible() and message.inner_text()
    assert page.get_by_label("Password", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Name").get_attribute("aria-invalid") is None
    page.context.close()


def test_a_double_click_on_place_order_places_one_order(browser: Any, local: LocalStack) -> None:
    token = api_token(local, CUSTOMER)
    before = {o["order_id"] for o in my_orders(local, token)}
    page = new_page(browser, local)
    sign_in(page, CUSTOMER)
    fill_cart(page, "Taqueria La Luna", "Horchata")
    fill_checkout(page)
    page.get_by_role("button", name="Place order").dblclick()
    page.wait_for_url(re.compile(r"#/orders/[\w-]+$"), wait_until="commit")
    page.get_by_role("status").wait_for()
    order_id = page.url.rsplit("/", 1)[1]
    new = [o for o in my_orders(local, token) if o["order_id"] not in before]
    assert [o["order_id"] for o in new] == [order_id]
    # Then the customer changes their mind, and the history shows it.
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_role("status")).to_have_text("Cancelled")
    page.get_by_role("link", name="Orders").click()
    page.locator(f'a[href="#/orders/{order_id}"]').wait_for()
    assert "Cancelled" in page.locator("li", has=page.locator(f'a[href="#/orders/{order_id}"]')).inner_text()
    page.context.close()


def test_an_expired_session_refreshes_then_returns_to_sign_in_keeping_the_cart(browser: Any, local: LocalStack) -> None:
    page = new_page(browser, local)
    sign_in(page, CUSTOMER)
    fill_cart(page, "Rose City Pizza", "Margherita")
    # An ID token the API refuses: the client refreshes it and carries on.
    page.evaluate(
        "(() => { const s = JSON.parse(localStorage['chowline.session']);"
        " s.id_token = 'expired'; localStorage['chowline.session'] = JSON.stringify(s); })()"
    )
    page.goto("/#/orders")
    orders_or_none = page.locator("main a[href^='#/orders/'], main p:has-text('No orders yet')").first
    orders_or_none.wait_for()
    refreshed = page.evaluate("JSON.parse(localStorage['chowline.session'])")
    assert refreshed["id_token"] != "expired"
    assert refreshed["refresh_token"]  # the refresh answer carries none: the session keeps its own
    # Refused again later: the kept refresh token refreshes it again.
    page.evaluate(
        "(() => { const s = JSON.parse(localStorage['chowline.session']);"
        " s.id_token = 'expired'; localStorage['chowline.session'] = JSON.stringify(s); })()"
    )
    page.goto("/#/account")  # a page that calls nothing, so the list below is the new one
    page.get_by_role("heading", name="Account").wait_for()
    page.goto("/#/orders")
    orders_or_none.wait_for()
    assert page.evaluate("JSON.parse(localStorage['chowline.session']).id_token") != "expired"
    # Neither token works any more: back to sign-in, cart kept.
    page.evaluate(
        "(() => { const s = JSON.parse(localStorage['chowline.session']);"
        " s.id_token = 'expired'; s.refresh_token = 'revoked'; localStorage['chowline.session'] = JSON.stringify(s); })()"
    )
    page.goto("/#/notifications")
    page.get_by_text("Your session ended").wait_for()
    assert page.get_by_role("link", name="Cart (1)").is_visible()
    page.get_by_label("Email").fill(CUSTOMER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Inbox").wait_for()
    page.goto("/#/cart")
    page.get_by_role("button", name="Place order").wait_for()
    assert "1 \u00d7 Margherita" in page.get_by_role("main").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in").wait_for()
    assert page.evaluate("localStorage['chowline.session']") is None
    page.context.close()


def test_a_call_refused_for_a_token_another_call_has_replaced_retries_without_refreshing_again(
    browser: Any, local: LocalStack
) -> None:
    page = new_page(browser, local)
    sign_in(page, CUSTOMER)
    page.evaluate(
        "(() => { const s = JSON.parse(localStorage['chowline.session']);"
        " s.id_token = 'expired'; localStorage['chowline.session'] = JSON.stringify(s); })()"
    )
    refreshes: list[str] = []
    page.on("request", lambda r: refreshes.append(r.url) if r.url.endswith("/api/auth/refresh") else None)
    held: list[Any] = []
    page.route("**/api/orders?limit=20", lambda route: held.append(route))
    page.goto("/#/orders")
    wait_until(page, lambda: bool(held))  # the list's call is on its way with the refused token
    # Meanwhile another call is refused too, refreshes the tokens and gets its answer.
    me = page.evaluate("import('/js/api.js').then((api) => api.get('/users/me')).then((me) => me.email)")
    assert me == CUSTOMER
    assert len(refreshes) == 1
    held[0].continue_()  # refused for the token the other call replaced: retried with the new one
    page.unroute("**/api/orders?limit=20")
    page.locator("main a[href^='#/orders/'], main p:has-text('No orders yet')").first.wait_for()
    assert len(refreshes) == 1
    assert page.js_errors == []
    page.context.close()


def test_a_banner_says_when_the_api_cannot_be_reached(browser: Any, local: LocalStack) -> None:
    page = new_page(browser, local)
    page.route("**/api/restaurants**", lambda route: route.abort())
    page.goto("/#/restaurants")
    banner = page.locator("#banners [role=alert]")
    banner.wait_for()
    assert "cannot be reached" in banner.inner_text()
    page.unroute("**/api/restaurants**")
    page.reload()
    page.get_by_role("link", name="Pho Saigon").wait_for()
    assert page.locator("#banners [role=alert]").count() == 0
    page.context.close()


def wait_until(page: Any, condition: Any, timeout_ms: int = 15_000) -> None:
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the condition did not come true")


def test_the_live_channel_refreshes_on_frames_drops_repeats_and_polls_while_down(
    browser: Any, local: LocalStack
) -> None:
    live = LiveSocket()
    page = new_page(browser, local)
    config = {**requests.get(f"{local.url}/api/client-config", timeout=10).json(), "ws_url": live.url}
    page.route("**/api/client-config", lambda route: route.fulfill(json=config))
    sign_in(page, CUSTOMER)
    loads: list[str] = []
    page.on("request", lambda r: loads.append(r.url) if "/api/users/me/notifications" in r.url else None)
    page.goto("/#/notifications")
    wait_until(page, lambda: live.connections == 1)
    assert live.tokens == [page.evaluate("JSON.parse(localStorage['chowline.session']).id_token")]
    wait_until(page, lambda: len(loads) == 2)  # the first load, then a catch-up once connected
    frame = {"type": "order.status", "event_id": "evt-1", "order_id": "ord_x", "restaurant_id": "r", "status": "READY"}
    live.send(frame)
    wait_until(page, lambda: len(loads) == 3)
    live.send(frame)  # a repeat is dropped, and nothing polls while the socket is open
    page.wait_for_timeout(4000)
    assert len(loads) == 3

    live.drop_all()
    banner = page.locator("#banners [role=alert]", has_text="Live updates")
    banner.wait_for()
    wait_until(page, lambda: live.connections == 1)  # reconnected after a backoff
    banner.wait_for(state="detached")
    assert len(live.tokens) == 2
    live.close()
    page.get_by_role("link", name="Inbox").wait_for()
    wait_until(page, lambda: len(loads) > 4, 20_000)  # down again: polling takes over
    page.context.close()


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xc8\x78\x28" * 32 for _ in range(32))
    header = struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_an_uploaded_image_shows_on_the_menu_and_sold_out_is_marked(
    browser: Any, local: LocalStack, tmp_path: Path
) -> None:
    image = tmp_path / "elote.png"
    image.write_bytes(tiny_png())
    owner = new_page(browser, local, TABLET)
    sign_in(owner, OWNER, "/manage")
    owner.get_by_label("Restaurant").select_option(label="Taqueria La Luna")
    row = owner.locator("li.product", has_text="Elote")
    row.get_by_text("Elote").click()
    row.get_by_label("Image").set_input_files(str(image))
    row.get_by_role("button", name="Upload image").click()
    row.locator("summary img").wait_for()
    row.get_by_label("Stock (empty: unlimited)").fill("0")
    row.get_by_role("button", name="Save").click()
    row.locator("summary").get_by_text("Sold out").wait_for()

    customer = new_page(browser, local)
    customer.goto("/#/restaurants")
    customer.get_by_role("link", name="Taqueria La Luna").click()
    picture = customer.get_by_role("img", name="Elote")
    picture.wait_for()
    expect(picture).to_have_js_property("naturalWidth", 32)
    assert requests.get(picture.get_attribute("src"), timeout=10).content == tiny_png()
    sold_out = customer.locator("li.product", has_text="Elote")
    assert "Sold out" in sold_out.inner_text()
    assert customer.get_by_role("button", name="Add Elote").count() == 0
    assert customer.get_by_role("button", name="Add Horchata").count() == 1
    owner.context.close()
    customer.context.close()


def test_the_owner_closes_and_reopens_a_restaurant(browser: Any, local: LocalStack) -> None:
    owner = new_page(browser, local, TABLET)
    sign_in(owner, OWNER, "/manage")
    owner.get_by_role("status").wait_for()  # the first restaurant's page
    held: list[Any] = []
    owner.route("**/api/restaurants/*/products?limit=100", lambda route: held.append(route))
    owner.get_by_label("Restaurant").select_option(label="Rose City Pizza")
    wait_until(owner, lambda: bool(held))
    # While the chosen restaurant's page loads, the one it replaces offers nothing to click.
    assert owner.get_by_role("button", name="Close restaurant").count() == 0
    assert owner.get_by_role("status").count() == 0
    held[0].continue_()
    owner.unroute("**/api/restaurants/*/products?limit=100")
    owner.get_by_role("status").filter(has_text="Rose City Pizza is open").wait_for()
    owner.get_by_role("button", name="Close restaurant").click()
    owner.get_by_role("status").filter(has_text="Rose City Pizza is closed").wait_for()
    customer = new_page(browser, local)
    customer.goto("/#/restaurants")
    card = customer.locator("li.card", has_text="Rose City Pizza")
    card.get_by_text("Closed").wait_for()
    owner.get_by_role("button", name="Open restaurant").click()
    owner.get_by_role("status").filter(has_text="Rose City Pizza is open").wait_for()
    customer.context.close()  # its HTTP cache may keep the public list for max-age
    customer = new_page(browser, local)
    customer.goto("/#/restaurants")
    customer.get_by_role("link", name="Rose City Pizza").wait_for()
    assert customer.locator("li.card", has_text="Rose City Pizza").get_by_text("Closed").count() == 0
    owner.context.close()
    customer.context.close()


def test_the_owner_sets_fees_and_tax_and_a_bad_rate_is_shown_beside_its_field(browser: Any, local: LocalStack) -> None:
    owner = new_page(browser, local, TABLET)
    sign_in(owner, OWNER, "/manage")
    owner.get_by_label("Restaurant").select_option(label="Taqueria La Luna")
    delivery = owner.get_by_label("Delivery fee (USD)", exact=True)
    expect(delivery).to_have_value("1.99")  # Taqueria's page, not the one it replaced
    expect(owner.get_by_label("Tax rate (%)")).to_have_value("8.25")
    delivery.fill("2.50")
    owner.get_by_label("Tax rate (%)").fill("30")
    owner.get_by_role("button", name="Save fees").click()
    expect(owner.get_by_label("Tax rate (%)")).to_have_attribute("aria-invalid", "true")
    owner.get_by_label("Tax rate (%)").fill("8.5")
    owner.get_by_role("button", name="Save fees").click()
    owner.get_by_text("Fees saved").wait_for()
    listed = local.http.get(f"{local.url}/api/restaurants?limit=100", timeout=10).json()["items"]
    taqueria = next(r for r in listed if r["name"] == "Taqueria La Luna")
    shown = local.http.get(f"{local.url}/api/restaurants/{taqueria['restaurant_id']}", timeout=10).json()
    assert (shown["delivery_fee_cents"], shown["tax_rate"]) == (250, "0.085")
    owner.context.close()


MAIN_PAGES = {
    None: ["/#/sign-in", "/#/sign-up", "/#/restaurants", "/#/restaurants/{restaurant}", "/#/cart"],
    CUSTOMER: ["/#/cart", "/#/orders", "/#/orders/{order}", "/#/notifications", "/#/account"],
    OWNER: ["/#/board", "/#/manage"],
    COURIER: ["/#/deliveries"],
}


def visit_main_pages(browser: Any, local: LocalStack, viewport: dict[str, int]) -> Iterator[tuple[str, Any]]:
    """Every main page of every role, filled with data, as the role sees it."""
    restaurants = local.http.get(f"{local.url}/api/restaurants", timeout=10).json()["items"]
    restaurant = next(r["restaurant_id"] for r in restaurants if r["name"] == "Pho Saigon")
    order = my_orders(local, api_token(local, CUSTOMER))[0]["order_id"]
    for who, paths in MAIN_PAGES.items():
        page = new_page(browser, local, viewport)
        if who:
            sign_in(page, who)
        else:
            fill_cart(page, "Pho Saigon", "Pho ga")
        for path in paths:
            page.goto(path.format(restaurant=restaurant, order=order))
            page.wait_for_load_state("networkidle")
            yield path, page
        page.context.close()


def test_nothing_overflows_horizontally_at_390_px(browser: Any, local: LocalStack) -> None:
    wide = []
    for path, page in visit_main_pages(browser, local, PHONE):
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide.append((path, width))
    assert wide == []


def test_the_main_pages_pass_an_accessibility_check(browser: Any, local: LocalStack) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    failures = {}
    for viewport in (PHONE, TABLET):
        for path, page in visit_main_pages(browser, local, viewport):
            results = axe.run(page)
            if results.violations_count:
                failures[f"{path} at {viewport['width']} px"] = results.generate_report()
    assert failures == {}


def test_the_web_app_sends_the_key_client_config_gives_on_every_api_call(browser: Any, local: LocalStack) -> None:
    key = requests.get(f"{local.url}/api/client-config", timeout=10).json()["web_api_key"]
    assert key
    page = new_page(browser, local)
    sent: list[tuple[str, str | None]] = []
    page.on("request", lambda r: sent.append((r.url, r.headers.get("x-api-key"))) if "/api/" in r.url else None)
    sign_in(page, CUSTOMER)
    page.goto("/#/restaurants")
    page.get_by_text("Pho Saigon").first.wait_for()
    config_reads = [url for url, _ in sent if url.endswith("/api/client-config")]
    calls = [(url, given) for url, given in sent if not url.endswith("/api/client-config")]
    assert len(config_reads) == 1, "read once per page load"
    assert calls and all(given == key for _, given in calls), calls
    assert page.js_errors == []
    page.context.close()

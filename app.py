"""Chowline API and event handlers. This module only declares: each handler parses input,
calls one service function and shapes the response; the logic lives in ``chalicelib``."""

from __future__ import annotations

import functools
import gc
import os

# A Lambda cold start makes objects that live as long as the container (modules, classes,
# clients): collecting while they are made is wasted work, 10-30 ms of a menu request's cold
# start. The collector is off until the first invocation has been served, then freezes them
# out of its generations (chalicelib/entry/observability.py).
if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
    gc.disable()

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Chalice, CognitoUserPoolAuthorizer, Response
from chalice.app import CloudWatchEvent, DynamoDBEvent, Request, SQSEvent, WebsocketEvent

from chalicelib import __version__
from chalicelib.bootstrap import container
from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.idempotency import IDEMPOTENCY_KEY
from chalicelib.domain.principal import ADMINS, COURIERS, CUSTOMERS, RESTAURANT_OWNERS, ROLES_THAT_MOVE
from chalicelib.entry import middleware, observability
from chalicelib.entry.auth import principal_of
from chalicelib.entry.caching import cacheable_response
from chalicelib.entry.requests import header
from chalicelib.entry.routing import PUBLIC, SIGNED_IN, Api, json_response
from chalicelib.settings import PAYMENT_CONCURRENCY

if TYPE_CHECKING:  # the models are imported by the routes that use them (chalicelib/entry/routing.py)
    from chalicelib.adapters.metrics import Metrics
    from chalicelib.domain import accounts, catalog, couriers, live, orders, paging, promos
    from chalicelib.entry.auth import Verifier

app = Chalice(app_name="chowline")
app.api.binary_types = []
app.experimental_feature_flags.update({"WEBSOCKETS"})

cognito = CognitoUserPoolAuthorizer(
    "chowline-users",
    provider_arns=[os.environ.get("USER_POOL_ARN", "arn:aws:cognito-idp:us-east-1:123456789012:userpool/placeholder")],
)
api = Api(app, cognito)


@app.middleware("all")
def observe(event: object, get_response: Callable[[object], object]) -> object:
    # The one middleware (each of Chalice's layers costs a cached read about 4 %): logs,
    # metrics and traces of every function; inside them, a request's id, token and problems.
    if isinstance(event, Request):
        get_response = functools.partial(middleware.handle, app, get_response=get_response, verifier=_token_verifier)
    return observability.handle(app, event, get_response, _metrics)


def _metrics() -> Metrics:
    return container().metrics


def _token_verifier() -> Verifier | None:
    return container().token_verifier


def _request() -> Request:
    return app.current_request


# --- Operations -------------------------------------------------------------------------


@api.route("/health", roles=PUBLIC, response_model="base.Health")
def health() -> Response:
    """Liveness and version: the function runs (it calls nothing; /ready checks the stores)."""
    return json_response({"status": "ok", "version": __version__})


@api.route("/ready", roles=PUBLIC, response_model="operations.Readiness", statuses=(200, 503))
def ready() -> Response:
    """Readiness: every store the API uses answers (one cheap read each, at most every 5 s).

    A 503 problem names the stores that did not answer."""
    return json_response(container().readiness.check())


# --- Accounts ---------------------------------------------------------------------------


@api.route("/auth/signup", "POST", response_model="accounts.SignUpResult", statuses=(201, 400, 409))
def sign_up(body: accounts.SignUp) -> Response:
    """Create a customer account."""
    result = container().accounts.sign_up(body)
    return json_response(result, 201)


@api.route("/auth/confirm", "POST", statuses=(204, 400))
def confirm_sign_up(body: accounts.Confirm) -> Response:
    """Confirm an account with the emailed code."""
    container().accounts.confirm(body)
    return Response(body="", status_code=204)


@api.route("/auth/login", "POST", response_model="accounts.LoginResult", statuses=(200, 400, 401, 403))
def login(body: accounts.Login) -> Response:
    """Exchange email and password for tokens (or an MFA challenge)."""
    return json_response(container().accounts.login(body))


@api.route("/auth/refresh", "POST", response_model="accounts.RefreshedTokens", statuses=(200, 400, 401))
def refresh_tokens(body: accounts.Refresh) -> Response:
    """Exchange a refresh token for new ID and access tokens."""
    return json_response(container().accounts.refresh(body))


@api.route("/users/me", roles=SIGNED_IN, response_model="accounts.Profile", statuses=(200, 401))
def get_profile() -> Response:
    """The caller's profile."""
    return json_response(container().accounts.profile(principal_of(_request())))


@api.route("/users/me", "PUT", roles=SIGNED_IN, response_model="accounts.Profile", statuses=(200, 400, 401))
def update_profile(body: accounts.ProfileUpdate) -> Response:
    """Update the caller's name, phone and addresses."""
    return json_response(container().accounts.update_profile(principal_of(_request()), body))


@api.route("/users/me", "DELETE", roles=SIGNED_IN, statuses=(204, 401, 409))
def delete_account() -> Response:
    """Delete my account, profile and devices; past orders stay, without my personal data.

    409 while one of my orders is in flight (not yet DELIVERED, FAILED, REJECTED or CANCELLED)."""
    container().accounts.delete_account(principal_of(_request()))
    return Response(body="", status_code=204)


@api.route("/auth/forgot", "POST", response_model="accounts.Accepted", statuses=(202, 400, 429))
def forgot_password(body: accounts.ForgotPassword) -> Response:
    """Email a password-reset code: the same 202 whether or not the account exists."""
    return json_response(container().accounts.forgot_password(body), 202)


@api.route("/auth/reset", "POST", statuses=(204, 400, 429))
def reset_password(body: accounts.ResetPassword) -> Response:
    """Set a new password with the emailed code (a wrong or expired code is 400)."""
    container().accounts.reset_password(body)
    return Response(body="", status_code=204)


@api.route("/auth/mfa", "POST", response_model="accounts.TokensOut", statuses=(200, 400, 401, 429))
def answer_mfa(body: accounts.MfaAnswer) -> Response:
    """Answer the SOFTWARE_TOKEN_MFA challenge of /auth/login with the session and a TOTP code."""
    return json_response(container().accounts.answer_mfa(body))


@api.route("/auth/logout", "POST", roles=SIGNED_IN, statuses=(204, 400, 401))
def sign_out(body: accounts.AccessTokenBody) -> Response:
    """Sign out everywhere: every refresh token of the user stops working."""
    container().accounts.sign_out(principal_of(_request()), body)
    return Response(body="", status_code=204)


@api.route("/users/me/mfa", "POST", roles=SIGNED_IN, response_model="accounts.MfaEnrolment", statuses=(201, 400, 401))
def start_mfa(body: accounts.AccessTokenBody) -> Response:
    """Start TOTP enrolment: the secret and an otpauth:// URI for an authenticator app."""
    return json_response(container().accounts.start_mfa(principal_of(_request()), body), 201)


@api.route("/users/me/mfa/verify", "POST", roles=SIGNED_IN, statuses=(204, 400, 401))
def verify_mfa(body: accounts.MfaVerify) -> Response:
    """Finish enrolment with a first TOTP code: sign-in then asks for a code."""
    container().accounts.verify_mfa(principal_of(_request()), body)
    return Response(body="", status_code=204)


@api.route("/users/me/mfa", "DELETE", roles=SIGNED_IN, statuses=(204, 401))
def disable_mfa() -> Response:
    """Turn MFA off: sign-in takes the password alone again."""
    container().accounts.disable_mfa(principal_of(_request()))
    return Response(body="", status_code=204)


@app.lambda_function(name="post_confirmation")
def post_confirmation(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Cognito PostConfirmation trigger: the new user joins customers and gets a profile."""
    return container().sign_up_completion.handle(event)


# --- Catalog: restaurants, menus and images ----------------------------------------------

MANAGERS = frozenset({RESTAURANT_OWNERS, ADMINS})
ADMINS_ONLY = frozenset({ADMINS})


def _public(body: catalog.ResponseModel) -> Response:
    """Public catalog reads: the same bytes for every caller, with ETag and Cache-Control."""
    max_age = container().settings.catalog_cache_seconds
    return cacheable_response(body, header(_request(), "if-none-match"), max_age)


@api.route("/restaurants", roles=PUBLIC, response_model="catalog.RestaurantPage", statuses=(200, 304, 400))
def list_restaurants(query: catalog.RestaurantQuery) -> Response:
    """Restaurants in name order, optionally in one `city` and/or of one `cuisine`.

    With `lat` and `lng`: those whose delivery radius covers that point, nearest first, each
    with `distance_km` (one page of the nearest `limit`)."""
    return _public(container().catalog.list_restaurants(query))


@api.route(
    "/restaurants", "POST", roles=ADMINS_ONLY, response_model="catalog.ManagedRestaurant", statuses=(201, 400, 404)
)
def create_restaurant(body: catalog.RestaurantCreate) -> Response:
    """Add a restaurant; its owner joins the restaurant_owners group."""
    created = container().catalog.create_restaurant(principal_of(_request()), body)
    return json_response(created, 201, {"Location": f"/restaurants/{created.restaurant_id}"})


@api.route("/restaurants/{restaurant_id}", roles=PUBLIC, response_model="catalog.Restaurant", statuses=(200, 304, 404))
def get_restaurant(restaurant_id: str) -> Response:
    """One restaurant."""
    return _public(container().catalog.get_restaurant(restaurant_id))


@api.route(
    "/restaurants/{restaurant_id}",
    "PATCH",
    roles=MANAGERS,
    response_model="catalog.ManagedRestaurant",
    statuses=(200, 400, 404, 409),
)
def update_restaurant(restaurant_id: str, body: catalog.RestaurantUpdate) -> Response:
    """Change a restaurant's name, cuisine, address, opening state, hours, location, delivery
    radius, time zone or holiday closures."""
    return json_response(container().catalog.update_restaurant(principal_of(_request()), restaurant_id, body))


@api.route(
    "/restaurants/{restaurant_id}/products", roles=PUBLIC, response_model="catalog.Menu", statuses=(200, 304, 400, 404)
)
def get_menu(restaurant_id: str, query: catalog.ListQuery) -> Response:
    """A restaurant's menu in category and name order (unavailable products included, flagged)."""
    return _public(container().catalog.menu(restaurant_id, query))


@api.route(
    "/restaurants/{restaurant_id}/products",
    "POST",
    roles=MANAGERS,
    response_model="catalog.Product",
    statuses=(201, 400, 404),
)
def add_product(restaurant_id: str, body: catalog.ProductCreate) -> Response:
    """Add a product to a restaurant's menu."""
    created = container().catalog.add_product(principal_of(_request()), restaurant_id, body)
    return json_response(created, 201, {"Location": f"/products/{created.product_id}"})


@api.route("/products/{product_id}", roles=PUBLIC, response_model="catalog.Product", statuses=(200, 304, 404))
def get_product(product_id: str) -> Response:
    """One product."""
    return _public(container().catalog.get_product(product_id))


@api.route(
    "/products/{product_id}", "PATCH", roles=MANAGERS, response_model="catalog.Product", statuses=(200, 400, 404, 409)
)
def update_product(product_id: str, body: catalog.ProductUpdate) -> Response:
    """Change a product: price, stock (`null`: unlimited), availability, text."""
    return json_response(container().catalog.update_product(principal_of(_request()), product_id, body))


@api.route("/products/{product_id}", "DELETE", roles=MANAGERS, statuses=(204, 404))
def delete_product(product_id: str) -> Response:
    """Remove a product from its menu."""
    container().catalog.delete_product(principal_of(_request()), product_id)
    return Response(body="", status_code=204)


@api.route(
    "/products/{product_id}/image",
    "POST",
    roles=MANAGERS,
    response_model="catalog.ImageUpload",
    statuses=(201, 400, 404),
)
def start_product_image(product_id: str, body: catalog.ImageUploadRequest) -> Response:
    """A presigned S3 POST for the product's image (jpeg, png or webp, at most 5 MiB)."""
    return json_response(container().assets.start_product_upload(principal_of(_request()), product_id, body), 201)


@api.route(
    "/products/{product_id}/image",
    "PUT",
    roles=MANAGERS,
    response_model="catalog.Product",
    statuses=(200, 400, 404, 422),
)
def confirm_product_image(product_id: str, body: catalog.ImageConfirm) -> Response:
    """Check the uploaded image and make it the product's `image_url`."""
    return json_response(container().assets.confirm_product_image(principal_of(_request()), product_id, body))


@api.route(
    "/restaurants/{restaurant_id}/image",
    "POST",
    roles=MANAGERS,
    response_model="catalog.ImageUpload",
    statuses=(201, 400, 404),
)
def start_restaurant_image(restaurant_id: str, body: catalog.ImageUploadRequest) -> Response:
    """A presigned S3 POST for the restaurant's image (jpeg, png or webp, at most 5 MiB)."""
    upload = container().assets.start_restaurant_upload(principal_of(_request()), restaurant_id, body)
    return json_response(upload, 201)


@api.route(
    "/restaurants/{restaurant_id}/image",
    "PUT",
    roles=MANAGERS,
    response_model="catalog.ManagedRestaurant",
    statuses=(200, 400, 404, 422),
)
def confirm_restaurant_image(restaurant_id: str, body: catalog.ImageConfirm) -> Response:
    """Check the uploaded image and make it the restaurant's `image_url`."""
    restaurant = container().assets.confirm_restaurant_image(principal_of(_request()), restaurant_id, body)
    return json_response(restaurant)


# --- Orders ------------------------------------------------------------------------------


@api.route(
    "/orders",
    "POST",
    roles=frozenset({CUSTOMERS}),
    response_model="orders.PlacedOrder",
    statuses=(200, 202, 400, 401, 403, 404, 409, 422, 503),
    extra={
        "headers": {
            "Idempotency-Key": {
                "required": True,
                "description": "A client-chosen key: the same key and body return the same order",
                "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern},
            }
        },
        "response_headers": {
            202: {"Location": "The new order's URL"},
            200: {"Idempotent-Replay": "true when this is the order an earlier request placed"},
        },
    },
)
def place_order(body: orders.PlaceOrder) -> Response:
    """Place an order (priced from the catalog), processed asynchronously.

    The delivery address needs `lat`/`lng`: outside the restaurant's radius is 422
    `out_of_delivery_area`; while it is not taking orders (switched off, outside its hours,
    a holiday) 422 `restaurant_closed`."""
    request = _request()
    placed = container().orders.place(principal_of(request), header(request, "Idempotency-Key"), body)
    headers = {"Location": f"/orders/{placed.order.order_id}"}
    if placed.replay:
        return json_response(placed.order, 200, {**headers, "Idempotent-Replay": "true"})
    return json_response(placed.order, 202, headers)


@api.route(
    "/orders/quote",
    "POST",
    roles=frozenset({CUSTOMERS}),
    response_model="orders.Quote",
    statuses=(200, 400, 401, 403, 404, 409, 422),
)
def quote_order(body: orders.OrderDraft) -> Response:
    """What an order would cost now (fees, tax, tip, the promo code's discount); nothing is placed."""
    request = _request()
    return json_response(container().orders.quote(principal_of(request), body))


@api.route("/orders", roles=frozenset({CUSTOMERS}), response_model="orders.OrderPage", statuses=(200, 400, 401, 403))
def list_my_orders(query: orders.OrdersQuery) -> Response:
    """My orders, newest first."""
    request = _request()
    return json_response(container().orders.list_mine(principal_of(request), query))


@api.route("/orders/{order_id}", roles=SIGNED_IN, response_model="orders.OrderOut", statuses=(200, 401, 404))
def get_order(order_id: str) -> Response:
    """One order: its customer, its restaurant's owner, its courier and admins see it.

    While its card awaits 3-D Secure the order stays `PENDING` and its customer (only) sees
    `payment_action`: pass its `client_secret` to Stripe.js, and the order goes on by itself."""
    return json_response(container().orders.get(principal_of(_request()), order_id))


@api.route(
    "/orders/{order_id}/cancel",
    "POST",
    roles=frozenset({CUSTOMERS}),
    response_model="orders.OrderOut",
    statuses=(200, 401, 403, 404, 409),
)
def cancel_order(order_id: str) -> Response:
    """Cancel my order while it is PENDING or CONFIRMED (refunded, stock returned)."""
    return json_response(container().orders.cancel(principal_of(_request()), order_id))


@api.route(
    "/orders/{order_id}/status",
    "POST",
    roles=ROLES_THAT_MOVE,
    response_model="orders.OrderOut",
    statuses=(200, 400, 401, 403, 404, 409),
)
def change_order_status(order_id: str, body: orders.StatusChange) -> Response:
    """Move an order along: restaurant owners, couriers, admins."""
    request = _request()
    return json_response(container().orders.change_status(principal_of(request), order_id, body))


@api.route(
    "/restaurants/{restaurant_id}/orders",
    roles=frozenset({RESTAURANT_OWNERS, ADMINS}),
    response_model="orders.OrderPage",
    statuses=(200, 400, 401, 403, 404),
)
def list_restaurant_orders(restaurant_id: str, query: orders.OrdersQuery) -> Response:
    """A restaurant's orders, newest first: its owner and admins."""
    request = _request()
    return json_response(container().orders.list_restaurant(principal_of(request), restaurant_id, query))


@api.route(
    "/deliveries",
    roles=frozenset({COURIERS}),
    response_model="orders.OrderPage",
    statuses=(200, 400, 401, 403, 409),
)
def list_deliveries(query: orders.OrdersQuery) -> Response:
    """Offers: orders READY for pickup that no courier has claimed, to couriers on shift.

    Oldest first; nearest pickup first within the page (with `pickup_distance_km`) once the
    courier has reported a position and the restaurants have a `location`. A courier who is
    not available (`PUT /couriers/me`) gets a 409 problem `courier-unavailable`."""
    request = _request()
    return json_response(container().dispatch.offers(principal_of(request), query))


# --- Dispatch: couriers' shifts, claims and positions -------------------------------------

COURIERS_ONLY = frozenset({COURIERS})


@api.route("/couriers/me", roles=COURIERS_ONLY, response_model="couriers.CourierView", statuses=(200, 401, 403))
def get_courier_state() -> Response:
    """My shift: whether I am available for deliveries, and my last position while it is fresh."""
    return json_response(container().dispatch.view(principal_of(_request())))


@api.route(
    "/couriers/me", "PUT", roles=COURIERS_ONLY, response_model="couriers.CourierState", statuses=(200, 400, 401, 403)
)
def set_courier_availability(body: couriers.Availability) -> Response:
    """Go on or off shift: only available couriers are offered READY orders (list and live channel)."""
    request = _request()
    return json_response(container().dispatch.set_availability(principal_of(request), body))


@api.route(
    "/couriers/me/location",
    "PUT",
    roles=COURIERS_ONLY,
    response_model="couriers.PositionAccepted",
    statuses=(200, 400, 401, 403, 429),
)
def report_courier_location(body: couriers.PositionReport) -> Response:
    """Report my position: at most one every 5 s (else 429 with `Retry-After`), kept 15 minutes.

    It is written onto the orders I carry (PICKED_UP), whose view then shows `courier_location`
    and `eta` to their customer and restaurant, and pushed to their sockets as a frame
    `{"type": "courier.location", "event_id", "order_id", "restaurant_id", "status", "at",
    "courier_location": {"lat", "lng", "at"}, "eta"}` (no push, no inbox entry)."""
    request = _request()
    return json_response(container().dispatch.report_position(principal_of(request), body))


@api.route(
    "/deliveries/{order_id}/claim",
    "POST",
    roles=COURIERS_ONLY,
    response_model="orders.OrderOut",
    statuses=(200, 401, 403, 404, 409),
)
def claim_delivery(order_id: str) -> Response:
    """Claim a READY order before riding to it: one conditional write, so exactly one courier
    gets 200 and every other a 409 problem `delivery-taken`; a courier off shift gets 409
    `courier-unavailable`. Only the claimant may then mark it PICKED_UP and DELIVERED."""
    return json_response(container().dispatch.claim(principal_of(_request()), order_id))


@api.route(
    "/deliveries/{order_id}/claim",
    "DELETE",
    roles=ADMINS_ONLY,
    response_model="orders.OrderOut",
    statuses=(200, 401, 403, 404, 409),
)
def unassign_delivery(order_id: str) -> Response:
    """Take a claimed READY order back from its courier (admins): it is offered again."""
    return json_response(container().dispatch.unassign(order_id))


@api.route(
    "/users/me/notifications",
    roles=SIGNED_IN,
    response_model="notifications.NotificationPage",
    statuses=(200, 400, 401),
)
def list_notifications(query: paging.ListQuery) -> Response:
    """What the notifier sent me, newest first."""
    request = _request()
    return json_response(container().notifications.inbox(principal_of(request), query))


# --- Promo codes ----------------------------------------------------------------------------


@api.route(
    "/promo-codes", "POST", roles=ADMINS_ONLY, response_model="promos.PromoCode", statuses=(201, 400, 401, 403, 409)
)
def create_promo_code(body: promos.PromoCodeCreate) -> Response:
    """Create a promo code: percent or amount off, minimum subtotal, validity window, use limits, restaurants."""
    request = _request()
    created = container().promo_codes.create(principal_of(request), body)
    return json_response(created, 201, {"Location": f"/promo-codes/{created.code}"})


@api.route("/promo-codes", roles=ADMINS_ONLY, response_model="promos.PromoCodePage", statuses=(200, 400))
def list_promo_codes(query: paging.ListQuery) -> Response:
    """Promo codes, newest first, with their use counts (withdrawn codes are not listed)."""
    request = _request()
    return json_response(container().promo_codes.list(principal_of(request), query))


@api.route("/promo-codes/{code}", "DELETE", roles=ADMINS_ONLY, statuses=(204, 404))
def delete_promo_code(code: str) -> Response:
    """Withdraw a promo code: orders can no longer use it; its name stays taken."""
    container().promo_codes.withdraw(principal_of(_request()), code)
    return Response(body="", status_code=204)


# --- Payments ----------------------------------------------------------------------------


@api.route(
    "/payments/webhook",
    "POST",
    roles=PUBLIC,
    response_model="payments.WebhookReceipt",
    statuses=(200, 400),
    extra={
        "headers": {
            "Stripe-Signature": {
                "required": True,
                "description": "Stripe's signature of the raw body (`t=<unix time>,v1=<HMAC-SHA256>`)",
                "schema": {"type": "string", "pattern": r"^t=\d+(,[a-z0-9]+=[0-9a-f]+)+$"},
            }
        },
        "tag": "payments",
    },
)
def payment_webhook() -> Response:
    """Stripe's events: disputes, late failures, dashboard refunds, reconciled onto orders.

    Public and keyless: the `Stripe-Signature` header, checked against the endpoint's signing
    secret over the raw body, is the authentication; a missing or wrong one is 400 and changes
    nothing. Each event applies once (its id is recorded with the change): a redelivery
    answers 200 with `applied: false`."""
    request = _request()
    receipt = container().payment_events.handle(request.raw_body, header(request, "Stripe-Signature"))
    return json_response(receipt)


# --- Live updates and devices -------------------------------------------------------------


@api.route("/client-config", roles=PUBLIC, response_model="live.ClientConfig", statuses=(200,))
def client_config() -> Response:
    """What a client needs to connect: the API and WebSocket URLs and the user pool."""
    from chalicelib.services.live import client_config as client_config_of  # only this route needs it

    host = (_request().headers or {}).get("host", "")
    config = client_config_of(container().settings, container().mobile_push.platforms, host)
    return json_response(config, headers={"Cache-Control": "public, max-age=300"})


@api.route("/users/me/devices", "POST", roles=SIGNED_IN, response_model="live.Device", statuses=(200, 201, 400, 401))
def register_device(body: live.RegisterDevice) -> Response:
    """Register an APNs or FCM device token for mobile push (the same token again: 200, the same device)."""
    request = _request()
    device, created = container().devices.register(principal_of(request), body)
    return json_response(device, 201 if created else 200)


@api.route("/users/me/devices", roles=SIGNED_IN, response_model="live.DeviceList", statuses=(200, 401))
def list_devices() -> Response:
    """My push devices."""
    return json_response(container().devices.list(principal_of(_request())))


@api.route("/users/me/devices/{device_id}", "DELETE", roles=SIGNED_IN, statuses=(204, 401, 404))
def delete_device(device_id: str) -> Response:
    """Stop pushing to one of my devices."""
    container().devices.remove(principal_of(_request()), device_id)
    return Response(body="", status_code=204)


@app.on_ws_connect()
def websocket_connect(event: WebsocketEvent) -> Response:
    """Verifies the ID token of ``?token=`` (no authorizer runs here) and records the connection."""
    try:
        container().live.connect(event.connection_id, event.to_dict().get("queryStringParameters"))
    except Unauthorized as refused:
        return Response(body={"message": refused.detail}, status_code=401)
    return Response(body="", status_code=200)


@app.on_ws_message()
def websocket_message(event: WebsocketEvent) -> None:
    """``{"action": "ping"}`` gets ``{"type": "pong"}``."""
    container().live.message(event.connection_id, event.body)


@app.on_ws_disconnect()
def websocket_disconnect(event: WebsocketEvent) -> None:
    """Forgets the connection."""
    container().live.disconnect(event.connection_id)


# --- Order events: processing, payment, notifications, sweeper ---------------------------


@app.on_sqs_message(
    queue_arn=os.environ.get("ORDERS_QUEUE_ARN", "arn:aws:sqs:us-east-1:123456789012:chowline-placeholder-orders.fifo"),
    batch_size=10,
    maximum_concurrency=PAYMENT_CONCURRENCY,
    name="process_order",
)
def process_order(event: SQSEvent) -> dict[str, Any]:
    """Pays for and confirms each order; returns the records to retry (batchItemFailures)."""
    return container().order_processor.handle_batch(event.to_dict(), event.context)


@app.lambda_function(name="payment")
def payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """authorize | capture | void | refund, idempotent per order."""
    return container().payments.handle(event)


@app.on_dynamodb_record(
    stream_arn=os.environ.get(
        "ORDERS_STREAM_ARN",
        "arn:aws:dynamodb:us-east-1:123456789012:table/chowline-placeholder-orders/stream/1970-01-01T00:00:00.000",
    ),
    batch_size=100,
    starting_position="LATEST",
    name="notify",
)
def notify(event: DynamoDBEvent) -> dict[str, Any]:
    """One SNS message and one inbox record per order status change."""
    return container().notifications.handle_batch(event.to_dict(), event.context)


@app.schedule("rate(1 minute)", name="sweep_pending_orders")
def sweep_pending_orders(event: CloudWatchEvent) -> dict[str, int]:
    """Re-enqueues orders left PENDING for over two minutes."""
    return {"requeued": container().orders.sweep()}


# --- Documentation -----------------------------------------------------------------------


@api.route("/openapi.json", roles=PUBLIC, statuses=(200, 304), extra={"tag": "documentation"})
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API, generated from the route table.

    Cacheable: it carries an `ETag`; a matching `If-None-Match` gets 304."""
    from chalicelib.entry import openapi  # imported on use: no other function needs it

    return openapi.document_response(api, _request().headers.get("if-none-match"))


@api.route("/docs", roles=PUBLIC, extra={"tag": "documentation", "media_type": "text/html"})
def api_docs() -> Response:
    """An HTML reference of this API, rendered from /openapi.json."""
    from chalicelib.entry import openapi

    return openapi.docs_response(api)

"""Chowline API and event handlers. This module only declares: each handler parses input,
calls one service function and shapes the response; the logic lives in ``chalicelib``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from chalice import Chalice, CognitoUserPoolAuthorizer, Response
from chalice.app import CloudWatchEvent, DynamoDBEvent, Request, SQSEvent

from chalicelib import __version__
from chalicelib.bootstrap import container
from chalicelib.domain import accounts, orders
from chalicelib.domain.paging import ListQuery
from chalicelib.entry import middleware
from chalicelib.entry.auth import principal_of
from chalicelib.entry.requests import body_model, header, query_model
from chalicelib.entry.routing import PUBLIC, SIGNED_IN, Api, json_response
from chalicelib.settings import PAYMENT_CONCURRENCY

app = Chalice(app_name="chowline")
app.api.binary_types = []

cognito = CognitoUserPoolAuthorizer(
    "chowline-users",
    provider_arns=[os.environ.get("USER_POOL_ARN", "arn:aws:cognito-idp:us-east-1:123456789012:userpool/placeholder")],
)
api = Api(app, cognito)


@app.middleware("http")
def request_context(event: Request, get_response: Callable[[Request], Response]) -> Response:
    return middleware.handle(app, event, get_response, lambda: container().token_verifier)


def _request() -> Request:
    return app.current_request


# --- Operations -------------------------------------------------------------------------


@api.route("/health", roles=PUBLIC)
def health() -> Response:
    """Liveness and version."""
    return json_response({"status": "ok", "version": __version__})


# --- Accounts ---------------------------------------------------------------------------


@api.route(
    "/auth/signup",
    "POST",
    request_model=accounts.SignUp,
    response_model=accounts.SignUpResult,
    statuses=(201, 400, 409),
)
def sign_up() -> Response:
    """Create a customer account."""
    result = container().accounts.sign_up(body_model(_request(), accounts.SignUp))
    return json_response(result, 201)


@api.route("/auth/confirm", "POST", request_model=accounts.Confirm, statuses=(204, 400, 404))
def confirm_sign_up() -> Response:
    """Confirm an account with the emailed code."""
    container().accounts.confirm(body_model(_request(), accounts.Confirm))
    return Response(body="", status_code=204)


@api.route(
    "/auth/login",
    "POST",
    request_model=accounts.Login,
    response_model=accounts.TokensOut,
    statuses=(200, 400, 401, 403),
)
def login() -> Response:
    """Exchange email and password for tokens (or an MFA challenge)."""
    return json_response(container().accounts.login(body_model(_request(), accounts.Login)))


@api.route(
    "/auth/refresh", "POST", request_model=accounts.Refresh, response_model=accounts.TokensOut, statuses=(200, 400, 401)
)
def refresh_tokens() -> Response:
    """Exchange a refresh token for new ID and access tokens."""
    return json_response(container().accounts.refresh(body_model(_request(), accounts.Refresh)))


@api.route("/users/me", roles=SIGNED_IN, response_model=accounts.Profile, statuses=(200, 401))
def get_profile() -> Response:
    """The caller's profile."""
    return json_response(container().accounts.profile(principal_of(_request())))


@api.route(
    "/users/me",
    "PUT",
    roles=SIGNED_IN,
    request_model=accounts.ProfileUpdate,
    response_model=accounts.Profile,
    statuses=(200, 400, 401),
)
def update_profile() -> Response:
    """Update the caller's name, phone and addresses."""
    cmd = body_model(_request(), accounts.ProfileUpdate)
    return json_response(container().accounts.update_profile(principal_of(_request()), cmd))


# --- Catalog: restaurants, menus and images ----------------------------------------------


# --- Orders ------------------------------------------------------------------------------


@api.route(
    "/orders",
    "POST",
    roles=frozenset({accounts.CUSTOMERS}),
    request_model=orders.PlaceOrder,
    response_model=orders.PlacedOrder,
    statuses=(200, 202, 400, 401, 403, 409, 422, 503),
)
def place_order() -> Response:
    """Place an order (priced from the catalog), processed asynchronously."""
    request = _request()
    placed = container().orders.place(
        principal_of(request), header(request, "Idempotency-Key"), body_model(request, orders.PlaceOrder)
    )
    headers = {"Location": f"/orders/{placed.order.order_id}"}
    if placed.replay:
        return json_response(placed.order, 200, {**headers, "Idempotent-Replay": "true"})
    return json_response(placed.order, 202, headers)


@api.route(
    "/orders",
    roles=frozenset({accounts.CUSTOMERS}),
    query_model=orders.OrdersQuery,
    statuses=(200, 400, 401, 403),
)
def list_my_orders() -> Response:
    """My orders, newest first."""
    request = _request()
    return json_response(container().orders.list_mine(principal_of(request), query_model(request, orders.OrdersQuery)))


@api.route("/orders/{order_id}", roles=SIGNED_IN, response_model=orders.OrderOut, statuses=(200, 401, 404))
def get_order(order_id: str) -> Response:
    """One order: its customer, its restaurant's owner, its courier and admins see it."""
    return json_response(container().orders.get(principal_of(_request()), order_id))


@api.route(
    "/orders/{order_id}/cancel",
    "POST",
    roles=frozenset({accounts.CUSTOMERS}),
    response_model=orders.OrderOut,
    statuses=(200, 401, 403, 404, 409),
)
def cancel_order(order_id: str) -> Response:
    """Cancel my order while it is PENDING or CONFIRMED (refunded, stock returned)."""
    return json_response(container().orders.cancel(principal_of(_request()), order_id))


@api.route(
    "/orders/{order_id}/status",
    "POST",
    roles=orders.ROLES_THAT_MOVE,
    request_model=orders.StatusChange,
    response_model=orders.OrderOut,
    statuses=(200, 400, 401, 403, 404, 409),
)
def change_order_status(order_id: str) -> Response:
    """Move an order along: restaurant owners, couriers, admins."""
    request = _request()
    cmd = body_model(request, orders.StatusChange)
    return json_response(container().orders.change_status(principal_of(request), order_id, cmd))


@api.route(
    "/restaurants/{restaurant_id}/orders",
    roles=frozenset({accounts.RESTAURANT_OWNERS, accounts.ADMINS}),
    query_model=orders.OrdersQuery,
    statuses=(200, 400, 401, 403, 404),
)
def list_restaurant_orders(restaurant_id: str) -> Response:
    """A restaurant's orders, newest first: its owner and admins."""
    request = _request()
    query = query_model(request, orders.OrdersQuery)
    return json_response(container().orders.list_restaurant(principal_of(request), restaurant_id, query))


@api.route(
    "/deliveries", roles=frozenset({accounts.COURIERS}), query_model=orders.OrdersQuery, statuses=(200, 400, 401, 403)
)
def list_deliveries() -> Response:
    """Orders READY for pickup, oldest first."""
    return json_response(container().orders.deliveries(query_model(_request(), orders.OrdersQuery)))


@api.route("/users/me/notifications", roles=SIGNED_IN, query_model=ListQuery, statuses=(200, 400, 401))
def list_notifications() -> Response:
    """What the notifier sent me, newest first."""
    request = _request()
    return json_response(container().notifications.inbox(principal_of(request), query_model(request, ListQuery)))


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

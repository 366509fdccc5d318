"""A lunch rush, for Locust: customers browse menus and order, restaurant owners accept,
prepare and mark orders ready, couriers go on shift, claim orders, pick them up and
deliver them.

    make load URL=http://127.0.0.1:8000 [ORDERS=2000 USERS=12 TIME=5m]

It stops by itself once ORDERS orders are placed and every one of them is settled
(CONFIRMED or FAILED) and delivered or failed, or when TIME runs out; then it prints
requests/s, p50/p95/p99 per route, errors, orders placed, settled and delivered, orders
settled per second (from the orders' own timestamps), and a stock check: no product sold
more than it had. It exits with 1 when an order was left unsettled or the stock check
fails. The demo accounts of ``make run`` play every role (API.md).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import gevent
import requests
from locust import HttpUser, between, events, task

PASSWORD = "Chowline-demo-1"
CUSTOMER, OWNER, COURIER = (f"{who}@demo.chowline.dev" for who in ("customer", "owner", "courier"))
# The couriers' users take turns between the two demo couriers: claims race for real.
COURIERS = itertools.cycle((COURIER, "courier2@demo.chowline.dev"))
ORDERS = int(os.environ.get("LOAD_ORDERS", "2000"))
SETTLED = {"CONFIRMED", "FAILED", "ACCEPTED", "REJECTED", "PREPARING", "READY", "PICKED_UP", "DELIVERED", "CANCELLED"}
DONE = {"DELIVERED", "FAILED", "REJECTED", "CANCELLED"}
OWNER_STEPS = {"CONFIRMED": "ACCEPTED", "ACCEPTED": "PREPARING", "PREPARING": "READY"}


class Rush:
    """What the users share: the catalog, the orders placed and what became of them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.restaurants: list[str] = []
        self.menus: dict[str, list[dict[str, Any]]] = {}
        self.addresses: dict[str, dict[str, Any]] = {}  # restaurant_id -> an address it delivers to
        self.minimums: dict[str, int] = {}  # restaurant_id -> its minimum order, in cents
        self.stock_at_start: dict[str, int] = {}
        self.placed: dict[str, dict[str, Any]] = {}  # order_id -> {"lines", "status"}
        self.started = time.time()

    def claim_placement(self) -> bool:
        with self.lock:
            if len(self.placed) + self.in_flight >= ORDERS:
                return False
            self.in_flight += 1
            return True

    in_flight = 0

    def placed_order(self, order_id: str | None, lines: list[tuple[str, int]]) -> None:
        with self.lock:
            self.in_flight -= 1
            if order_id:
                self.placed[order_id] = {"lines": lines, "status": "PENDING"}

    def unfinished(self) -> list[str]:
        with self.lock:
            return [o for o, v in self.placed.items() if v["status"] not in DONE]

    def finished(self) -> bool:
        return len(self.placed) >= ORDERS and not self.unfinished()


RUSH = Rush()
# The client application's API key: LOAD_API_KEY, else the web app's from /client-config.
KEY: dict[str, str] = {}


def api_key(host: str) -> dict[str, str]:
    if not KEY:
        key = os.environ.get("LOAD_API_KEY") or requests.get(f"{host}/client-config", timeout=30).json()["web_api_key"]
        KEY["X-Api-Key"] = key
    return KEY


def login(host: str, email: str) -> dict[str, str]:
    out = requests.post(
        f"{host}/auth/login", json={"email": email, "password": PASSWORD}, headers=api_key(host), timeout=30
    )
    out.raise_for_status()
    return {**api_key(host), "Authorization": f"Bearer {out.json()['id_token']}"}


def up_to_minimum(lines: list[tuple[str, int]], picks: list[dict[str, Any]], minimum: int) -> list[tuple[str, int]]:
    """A customer's cart raised to the restaurant's minimum order, as the web app asks them
    to: more of the first dish (at most 50)."""
    subtotal = sum(p["price_cents"] * q for p, (_, q) in zip(picks, lines, strict=True))
    if subtotal >= minimum or not lines:
        return lines
    first, quantity = lines[0]
    price = picks[0]["price_cents"]
    needed = quantity + -(-(minimum - subtotal) // price)
    return [(first, min(50, needed)), *lines[1:]]


class Customer(HttpUser):
    weight = 8
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.headers.update(api_key(self.host))
        self.auth = login(self.host, CUSTOMER)
        self.mine: list[str] = []

    @task(3)
    def browse(self) -> None:
        self.client.get("/restaurants", name="/restaurants")
        if RUSH.restaurants:
            rid = random.choice(RUSH.restaurants)
            self.client.get(f"/restaurants/{rid}/products", name="/restaurants/{restaurant_id}/products")

    @task(2)
    def order(self) -> None:
        if not RUSH.restaurants or not RUSH.claim_placement():
            return
        order_id = None
        lines: list[tuple[str, int]] = []
        try:
            rid = random.choice(RUSH.restaurants)
            menu = [p for p in RUSH.menus.get(rid, []) if p["available"]]
            if not menu:
                return
            picks = random.sample(menu, k=min(len(menu), random.randint(1, 3)))
            lines = [(p["product_id"], random.randint(1, 2)) for p in picks]
            lines = up_to_minimum(lines, picks, RUSH.minimums.get(rid, 0))
            body = {
                "restaurant_id": rid,
                "items": [{"product_id": pid, "quantity": q} for pid, q in lines],
                "delivery_address": RUSH.addresses[rid],
                "payment_token": "tok_visa",
            }
            headers = {**self.auth, "Idempotency-Key": uuid.uuid4().hex}
            with self.client.post("/orders", json=body, headers=headers, name="/orders", catch_response=True) as r:
                if r.status_code in (200, 202):
                    order_id = r.json()["order_id"]
                else:
                    r.failure(f"{r.status_code} {r.text[:200]}")
        finally:
            RUSH.placed_order(order_id, lines)
            if order_id:
                self.mine.append(order_id)

    @task(2)
    def watch(self) -> None:
        unfinished = [o for o in self.mine if RUSH.placed.get(o, {}).get("status") not in DONE]
        if unfinished:
            order_id = random.choice(unfinished)
            r = self.client.get(f"/orders/{order_id}", headers=self.auth, name="/orders/{order_id}")
            if r.status_code == 200:
                RUSH.placed[order_id]["status"] = r.json()["status"]


class Staff(HttpUser):
    """A restaurant owner or a courier: signs in as ``email`` and moves orders along."""

    abstract = True
    email = ""
    weight = 2
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        self.client.headers.update(api_key(self.host))
        self.auth = login(self.host, self.email)

    def move(self, order_id: str, target: str) -> bool:
        """False when another worker moved it first (a 409, not an error)."""
        with self.client.post(
            f"/orders/{order_id}/status",
            json={"status": target},
            headers=self.auth,
            name="/orders/{order_id}/status",
            catch_response=True,
        ) as r:
            if r.status_code == 409:
                r.success()
                return False
            if r.status_code == 200 and order_id in RUSH.placed:
                RUSH.placed[order_id]["status"] = target
            return True


class Owner(Staff):
    email = OWNER

    @task
    def work_the_queue(self) -> None:
        for status, target in OWNER_STEPS.items():
            rid = random.choice(RUSH.restaurants) if RUSH.restaurants else None
            if rid is None:
                return
            r = self.client.get(
                f"/restaurants/{rid}/orders?status={status}&limit=20",
                headers=self.auth,
                name="/restaurants/{restaurant_id}/orders",
            )
            if r.status_code != 200:
                continue
            for item in r.json()["items"][:5]:
                self.move(item["order_id"], target)


class Courier(Staff):
    email = COURIER

    def on_start(self) -> None:
        self.email = next(COURIERS)
        super().on_start()
        self.client.put("/couriers/me", json={"available": True}, headers=self.auth, name="/couriers/me")

    def claim(self, order_id: str) -> bool:
        """False when another courier claimed it first (a 409, not an error)."""
        with self.client.post(
            f"/deliveries/{order_id}/claim",
            headers=self.auth,
            name="/deliveries/{order_id}/claim",
            catch_response=True,
        ) as r:
            if r.status_code == 409:
                r.success()
                return False
            return r.status_code == 200

    @task
    def deliver(self) -> None:
        r = self.client.get("/deliveries?limit=10", headers=self.auth, name="/deliveries")
        if r.status_code != 200:
            return
        for item in r.json()["items"][:3]:
            if not self.claim(item["order_id"]):
                continue
            for target in ("PICKED_UP", "DELIVERED"):
                if not self.move(item["order_id"], target):  # the same courier's other user was first
                    break


# --- set-up, the stop condition and the report ---------------------------------------------


@events.test_start.add_listener
def load_catalog(environment: Any, **_: Any) -> None:
    host = environment.host.rstrip("/")
    restaurants = requests.get(f"{host}/restaurants?limit=100", headers=api_key(host), timeout=30).json()["items"]
    RUSH.restaurants = [r["restaurant_id"] for r in restaurants if r.get("is_open_now", r.get("is_open", True))]
    for rid in list(RUSH.restaurants):
        # Lunch goes to an office about 500 m north of the restaurant: inside every delivery area.
        view = requests.get(f"{host}/restaurants/{rid}", headers=api_key(host), timeout=30).json()
        location = view.get("location")
        RUSH.minimums[rid] = int(view.get("min_order_cents") or 0)
        if not location:
            RUSH.restaurants.remove(rid)  # delivers nowhere
            continue
        RUSH.addresses[rid] = {
            "label": "work",
            "line1": "1 Lunch St",
            "city": "Springfield",
            "postcode": "1",
            "lat": round(location["lat"] + 0.0045, 6),
            "lng": location["lng"],
        }
        items = requests.get(f"{host}/restaurants/{rid}/products?limit=100", headers=api_key(host), timeout=30).json()[
            "items"
        ]
        RUSH.menus[rid] = items
        RUSH.stock_at_start.update({p["product_id"]: p["stock"] for p in items if p.get("stock") is not None})
    RUSH.started = time.time()
    gevent.spawn(_stop_when_done, environment)


def _stop_when_done(environment: Any) -> None:
    while not RUSH.finished():
        gevent.sleep(1)
    environment.runner.quit()


@events.quitting.add_listener
def report(environment: Any, **_: Any) -> None:
    host = environment.host.rstrip("/")
    auth = login(host, CUSTOMER)
    orders = []
    for order_id in list(RUSH.placed):
        out = requests.get(f"{host}/orders/{order_id}", headers=auth, timeout=30)
        if out.status_code == 200:
            orders.append(out.json())
    stats = environment.stats
    elapsed = max(time.time() - RUSH.started, 1e-9)
    lines = ["", "lunch rush report", f"  host {host}, {environment.runner.user_count} users at the end"]
    lines.append(f"  {'route':<44} {'reqs':>6} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}  (ms)")
    for entry in sorted(stats.entries.values(), key=lambda e: (e.name, e.method)):
        lines.append(
            f"  {entry.method + ' ' + entry.name:<44} {entry.num_requests:>6} {entry.num_failures:>5}"
            f" {entry.num_requests / elapsed:>7.1f} {entry.get_response_time_percentile(0.5):>6.0f}"
            f" {entry.get_response_time_percentile(0.95):>6.0f} {entry.get_response_time_percentile(0.99):>6.0f}"
        )
    total = stats.total
    lines.append(
        f"  all: {total.num_requests} requests, {total.num_requests / elapsed:.1f} req/s, {total.num_failures} errors"
    )
    for error in stats.errors.values():
        lines.append(f"    error {error.occurrences}x {error.method} {error.name}: {str(error.error)[:160]}")
    status = Counter(o["status"] for o in orders)
    settled = [o for o in orders if o["status"] in SETTLED]
    settle_times = [_settled_at(o) for o in settled]
    created = [_stamp(o["created_at"]) for o in orders]
    if settle_times and created:
        span = max(settle_times) - min(created)
        rate = len(settled) / span if span > 0 else 0.0
        lines.append(f"  orders: {len(RUSH.placed)} placed, {len(settled)} settled ({rate:.2f}/s over {span:.0f} s)")
    else:
        lines.append(f"  orders: {len(RUSH.placed)} placed, 0 settled")
    lines.append(f"  statuses: {dict(sorted(status.items()))}")
    failures = Counter(o.get("failure_reason") for o in orders if o["status"] == "FAILED")
    if failures:
        lines.append(f"  failed by reason: {dict(failures)}")
    stock = _stock_check(host, orders)
    lines.append(f"  stock: {stock}")
    # The run fails when an order was left unsettled or a product sold past its stock.
    if len(settled) < len(RUSH.placed) or not stock.startswith("ok"):
        environment.process_exit_code = 1
    text = "\n".join(lines)
    print(text)
    out_dir = os.environ.get("LOAD_REPORT_DIR")
    if out_dir:
        with open(os.path.join(out_dir, "load-report.txt"), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(out_dir, "load-orders.json"), "w") as f:
            json.dump({"status": status, "placed": len(RUSH.placed), "settled": len(settled)}, f)


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _settled_at(order: dict[str, Any]) -> float:
    for entry in order.get("status_history", []):
        if entry["status"] in ("CONFIRMED", "FAILED"):
            return _stamp(entry["at"])
    return _stamp(order["created_at"])


def _stock_check(host: str, orders: list[dict[str, Any]]) -> str:
    """Every product with a stock lost exactly what the paid orders bought, and not below 0."""
    bought: Counter[str] = Counter()
    paid = {"CONFIRMED", "ACCEPTED", "PREPARING", "READY", "PICKED_UP", "DELIVERED"}
    for order in orders:
        if order["status"] in paid:
            for line in order["items"]:
                bought[line["product_id"]] += line["quantity"]
    stock_now: dict[str, Any] = {}
    for rid in RUSH.restaurants:  # a page size no user asked for: read past the read cache
        items = requests.get(f"{host}/restaurants/{rid}/products?limit=99", headers=api_key(host), timeout=30).json()[
            "items"
        ]
        stock_now.update({p["product_id"]: p.get("stock") for p in items})
    problems = []
    for product_id, start in RUSH.stock_at_start.items():
        now = stock_now.get(product_id)
        if now is None or now < 0 or start - now != bought[product_id]:
            problems.append(f"{product_id}: {start} -> {now}, bought {bought[product_id]}")
    checked = len(RUSH.stock_at_start)
    return f"ok ({checked} products with stock)" if not problems else "MISMATCH " + "; ".join(problems)

"""``make cost``: the monthly AWS bill of the stated traffic model, per service and per order.

    python -m bench.cost [--markdown] [--cognito-free-mau 10000] [--as-templated] [--template dist/sam.json]
    python -m bench.cost --write-docs   # regenerates the figures docs/cost.md and docs/deploy.md quote

What is deployed comes from the packaged template (``make package`` writes dist/sam.json;
``make cost`` packages first): function memory, the web ACL's rules and Bot Control level,
the stage cache, what CloudFront caches, the Cognito tier, the X-Ray sampling rule, alarms
and secrets. Calls per operation, Lambda durations and payload sizes come from
``.local/bench.json`` (written by ``make bench``; sections from bench/catalog.py and
bench/pipeline.py may add ``durations_ms``, ``payload_bytes``, ``dynamo`` and ``calls``) and
otherwise from the documented defaults below; the docs quote the defaults. Prices are
us-east-1 list prices, each with its page and the month it was read; re-read them before
quoting the figure. docs/cost.md explains the model.

Every priced line is a ``Line`` appended in ``model()``, service by service (``per_unit`` for
the common case: a quantity times a price, less a free allowance); a new service
adds its prices to ``P`` and its lines there.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT

TEMPLATE = ROOT / "dist" / "sam.json"

AS_OF = "2025-10"  # the month these list prices were read from the pages below


@dataclass(frozen=True)
class Price:
    value: float
    unit: str
    source: str


P = {
    "dax_node": Price(0.04, "per node-hour, dax.t3.small", "https://aws.amazon.com/dynamodb/pricing/dax/"),
    "apigw_rest": Price(3.50, "per million REST API calls (first 333M)", "https://aws.amazon.com/api-gateway/pricing/"),
    "lambda_gbs_arm": Price(0.0000133334, "per GB-second, arm64", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_req": Price(0.20, "per million requests", "https://aws.amazon.com/lambda/pricing/"),
    "ddb_wru": Price(
        0.625, "per million write request units, on-demand", "https://aws.amazon.com/dynamodb/pricing/on-demand/"
    ),
    "ddb_rru": Price(
        0.125, "per million read request units, on-demand", "https://aws.amazon.com/dynamodb/pricing/on-demand/"
    ),
    "ddb_storage": Price(0.25, "per GB-month (first 25 GB free)", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "ddb_streams": Price(
        0.0, "stream reads by a Lambda trigger are free", "https://aws.amazon.com/dynamodb/pricing/on-demand/"
    ),
    "sqs_fifo": Price(
        0.50, "per million FIFO requests (64 KB chunks; first 1M free)", "https://aws.amazon.com/sqs/pricing/"
    ),
    "sns_publish": Price(0.50, "per million publishes (first 1M free)", "https://aws.amazon.com/sns/pricing/"),
    "sns_push": Price(0.50, "per million mobile push deliveries", "https://aws.amazon.com/sns/pricing/"),
    "sns_http": Price(0.60, "per million HTTP/S deliveries", "https://aws.amazon.com/sns/pricing/"),
    "ws_messages": Price(
        1.00, "per million WebSocket messages (32 KB units, first 1B)", "https://aws.amazon.com/api-gateway/pricing/"
    ),
    "ws_minutes": Price(
        0.25, "per million WebSocket connection minutes", "https://aws.amazon.com/api-gateway/pricing/"
    ),
    "s3_storage": Price(0.023, "per GB-month, Standard", "https://aws.amazon.com/s3/pricing/"),
    "s3_put": Price(0.005, "per 1,000 PUT/POST", "https://aws.amazon.com/s3/pricing/"),
    "s3_get": Price(0.0004, "per 1,000 GET", "https://aws.amazon.com/s3/pricing/"),
    "cf_gb": Price(0.085, "per GB out, North America (first 10 TB)", "https://aws.amazon.com/cloudfront/pricing/"),
    "cf_req": Price(1.00, "per million HTTPS requests", "https://aws.amazon.com/cloudfront/pricing/"),
    "apigw_cache_0.5": Price(0.020, "per hour, 0.5 GB stage cache", "https://aws.amazon.com/api-gateway/pricing/"),
    "apigw_cache_1.6": Price(0.038, "per hour, 1.6 GB stage cache", "https://aws.amazon.com/api-gateway/pricing/"),
    "apigw_cache_6.1": Price(0.200, "per hour, 6.1 GB stage cache", "https://aws.amazon.com/api-gateway/pricing/"),
    "waf_acl": Price(5.00, "per web ACL-month", "https://aws.amazon.com/waf/pricing/"),
    "waf_rule": Price(1.00, "per rule-month", "https://aws.amazon.com/waf/pricing/"),
    "waf_req": Price(0.60, "per million requests evaluated", "https://aws.amazon.com/waf/pricing/"),
    "bot_common": Price(10.00, "Bot Control (common) subscription per month", "https://aws.amazon.com/waf/pricing/"),
    "bot_common_req": Price(
        1.00,
        "per million requests inspected by Bot Control common (first 10M/month free)",
        "https://aws.amazon.com/waf/pricing/",
    ),
    "bot_targeted_req": Price(
        10.00,
        "per million requests inspected by Bot Control targeted (first 1M/month free)",
        "https://aws.amazon.com/waf/pricing/",
    ),
    "cognito_lite": Price(0.0055, "per MAU above the free tier, Lite tier", "https://aws.amazon.com/cognito/pricing/"),
    "cognito_essentials": Price(
        0.015, "per MAU above the free tier, Essentials tier", "https://aws.amazon.com/cognito/pricing/"
    ),
    "cognito_plus": Price(0.020, "per MAU, Plus tier (no free tier)", "https://aws.amazon.com/cognito/pricing/"),
    "secret": Price(0.40, "per secret-month", "https://aws.amazon.com/secrets-manager/pricing/"),
    "cw_dashboard": Price(3.00, "per dashboard-month (first 3 free)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_logs_ingest": Price(0.50, "per GB ingested, Standard class", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_logs_ingest_ia": Price(
        0.25, "per GB ingested, Infrequent Access class", "https://aws.amazon.com/cloudwatch/pricing/"
    ),
    "cw_logs_store": Price(0.03, "per GB-month archived", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_metric": Price(0.30, "per custom metric-month (first 10 free)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_alarm": Price(0.10, "per standard alarm-month (first 10 free)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace": Price(5.00, "per million traces recorded (first 100K free)", "https://aws.amazon.com/xray/pricing/"),
}

# Stripe's fees, beside the AWS bill: its standard US card price per successful charge
# (https://stripe.com/pricing, read 2025-10), on the traffic model's average order. A refund
# does not give the fee back; a voided authorization (failed, cancelled before capture) costs
# nothing.
STRIPE_PERCENT = 2.9
STRIPE_FIXED_CENTS = 30
AVERAGE_ORDER_CENTS = 3_000
# The secrets the payment function and the webhook read (created by the operator, not the
# template: docs/deploy.md).
STRIPE_SECRETS = 2

# The traffic model: 50K users, 10M API requests and 1M orders a month, lunch peak.
USERS = 50_000
API_REQUESTS = 10_000_000
ORDERS = 1_000_000

# Calls per operation a month (sums to API_REQUESTS): an order is placed once and moved
# through five staff transitions (owner: ACCEPTED, PREPARING, READY; courier: PICKED_UP,
# DELIVERED); customers are notified by push, so they rarely poll.
CALLS: dict[str, int] = {
    "POST /orders": 1_000_000,
    "POST /orders/{id}/status": 5_000_000,
    "GET /orders/{id}": 1_000_000,
    "GET /restaurants/{id}/products": 1_200_000,
    "GET /restaurants": 800_000,
    "GET /restaurants/{id}": 400_000,
    "GET /restaurants/{id}/orders": 300_000,
    "GET /deliveries": 100_000,
    "POST /auth/*": 100_000,
    "GET|PUT /users/me": 100_000,
}
# Public catalog reads carry Cache-Control; whichever cache the template puts in front of
# them (CloudFront's /api/* behaviour or the API Gateway stage cache) answers this share
# (menus change rarely; 30 s freshness at lunch means many hits per menu).
CACHEABLE = {"GET /restaurants/{id}/products", "GET /restaurants", "GET /restaurants/{id}"}
CACHE_HIT_RATIO = 0.6
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CloudFront's managed policy
DASHBOARDS_FREE, ALARMS_FREE = 3, 10

# Lambda: memory (MB) and billed duration (ms) per invocation, arm64.
DURATIONS_MS: dict[str, float] = {
    "read": 18.0,  # one DynamoDB round trip + JSON
    "POST /orders": 45.0,  # BatchGet of prices, conditional put (the order id is the idempotency key), SQS send
    "POST /orders/{id}/status": 30.0,  # conditional update
    "process_order": 60.0,  # per record: payment invoke + one transaction
    "payment": 250.0,  # provider round trip (mostly waiting)
    "notify": 35.0,  # per batch: SNS publish(es) + inbox writes
    "sweep_pending_orders": 120.0,
}
COLD_START_SHARE = 0.01  # share of invocations that start a new environment (init is billed)
# Images are resized WebP thumbnails served with a year-long immutable Cache-Control, so
# the app's cache answers most views; about five reach CloudFront per order.
PAYLOAD_BYTES = {"api_response": 2_500, "menu_response": 6_000, "image": 25_000}
IMAGE_REQUESTS_PER_ORDER = 5

# DynamoDB writes per order. An order item stays under 1 KB (1 WRU per write); it is
# written 7 times (PENDING, CONFIRMED in the stock transaction (x2), ACCEPTED, PREPARING,
# READY, PICKED_UP, DELIVERED).
ORDER_WRITES = 7
# As infra/template.json has it now: four GSIs projecting ALL, so every write of the order
# rewrites its copy in by_customer and by_restaurant, moves it in by_status (delete + put)
# and, once a courier is set, rewrites by_courier; by_authorization (keys only) is written
# once, when the order records its payment's authorization.
ORDER_WRU_AS_TEMPLATED = ORDER_WRITES * (1 + 1 + 1 + 2) + 3 + 1 + 1
# Recommended: KEYS_ONLY/INCLUDE projections (an index entry is written only when its key
# changes) and a sparse status index (an attribute present only while PENDING or READY,
# the two states someone lists: the sweeper and couriers): 7 base writes + 1 extra for the
# transaction + by_customer, by_restaurant at creation + by_courier at pick-up + 4 moves of
# the sparse index + by_authorization once.
ORDER_WRU_RECOMMENDED = ORDER_WRITES + 1 + 2 + 1 + 4 + 1
STOCK_WRU = 3 * 2  # three products per order, in the transaction (2x)
INBOX_WRU = 5  # one inbox item per change the customer is told about
# Live updates (chalicelib/domain/live.py): per order, 7 status changes reach the customer
# and the owner (socket frame, push per device, inbox entry); the carrying courier hears of 2
# (PICKED_UP, DELIVERED); READY and the claim go to every connected courier on shift but the
# claimant (delivery.available, delivery.taken). The couriers connected at once decide the bill.
LIVE_CHANGES = 7
COURIERS_CONNECTED = 50  # on shift and connected at an average moment, one city
DEVICES_PER_USER = 1.2
# Connection minutes: a customer's socket is open from placing the order to delivery; a
# restaurant board during its two service windows; a courier through a shift.
CUSTOMER_MINUTES_PER_ORDER = 40
RESTAURANT_BOARDS, BOARD_HOURS_PER_DAY = 5_000, 4
COURIERS_ON_SHIFT_DAILY, SHIFT_HOURS = 1_000, 5
# Inbound frames: a ping every 5 minutes keeps idle sockets from API Gateway's 10-minute timeout.
PING_EVERY_MINUTES = 5
RRU = {"read": 1.0, "list": 2.0, "POST /orders": 2.0, "POST /orders/{id}/status": 1.0}


@dataclass
class Line:
    service: str
    item: str
    quantity: float
    price: str
    monthly: float
    free: float = 0.0  # the part a permanent free tier covers
    fixed: bool = False  # billed whether or not there is traffic

    @property
    def billed(self) -> float:
        return max(0.0, self.monthly - self.free)


@dataclass(frozen=True)
class Deployed:
    """What the packaged template provisions, as far as the bill is concerned."""

    memory_mb: dict[str, int]
    timeout_s: dict[str, int]
    reserved_concurrency: dict[str, int]
    waf_rules: tuple[str, ...]
    bot_control_level: str | None  # COMMON | TARGETED, None without Bot Control
    stage_cache_gb: str | None  # "0.5", ... or None without a stage cache
    edge_caches_api: bool  # CloudFront caches /api/* responses
    cognito_tier: str
    trace_rate: float
    alarms: int
    dashboards: int
    secrets: int
    orders_indexes_project_all: bool


def _function_name(props: dict[str, Any]) -> str:
    name = props["FunctionName"]
    return (name["Fn::Sub"] if isinstance(name, dict) else name).rsplit("}-", 1)[-1]


def deployed_from(sam: dict[str, Any]) -> Deployed:
    """Reads the priced facts from a packaged (SAM) template."""
    resources = sam["Resources"]

    def of(kind: str) -> list[dict[str, Any]]:
        return [r.get("Properties", {}) for r in resources.values() if r["Type"] == kind]

    functions = {_function_name(p): p for p in of("AWS::Serverless::Function")}
    [acl] = of("AWS::WAFv2::WebACL")
    bot = [
        config.get("AWSManagedRulesBotControlRuleSet", {}).get("InspectionLevel", "COMMON")
        for rule in acl["Rules"]
        if rule["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesBotControlRuleSet"
        for config in rule["Statement"]["ManagedRuleGroupStatement"].get("ManagedRuleGroupConfigs", [{}])
    ]
    api = resources["RestAPI"]["Properties"]
    api_behaviours = [
        b
        for d in of("AWS::CloudFront::Distribution")
        for b in d["DistributionConfig"].get("CacheBehaviors", [])
        if b["PathPattern"].startswith("/api")
    ]
    [pool] = of("AWS::Cognito::UserPool")
    rules = [p["SamplingRule"] for p in of("AWS::XRay::SamplingRule")]
    return Deployed(
        memory_mb={name: p["MemorySize"] for name, p in functions.items()},
        timeout_s={name: p["Timeout"] for name, p in functions.items()},
        reserved_concurrency={
            name: p["ReservedConcurrentExecutions"]
            for name, p in functions.items()
            if "ReservedConcurrentExecutions" in p
        },
        waf_rules=tuple(rule["Name"] for rule in acl["Rules"]),
        bot_control_level=bot[0] if bot else None,
        stage_cache_gb=str(api["CacheClusterSize"]) if api.get("CacheClusterEnabled") else None,
        edge_caches_api=any(b["CachePolicyId"] != CACHING_DISABLED for b in api_behaviours),
        # A pool without a tier gets the account's default for new pools (Essentials).
        cognito_tier=pool.get("UserPoolTier", "ESSENTIALS"),
        # Without a sampling rule X-Ray records 1 request a second and 5 % of the rest.
        trace_rate=min((r["FixedRate"] for r in rules), default=0.05),
        alarms=len(of("AWS::CloudWatch::Alarm")),
        dashboards=len(of("AWS::CloudWatch::Dashboard")),
        secrets=len(of("AWS::SecretsManager::Secret")),
        orders_indexes_project_all=any(
            index["Projection"]["ProjectionType"] == "ALL"
            for index in resources["OrdersTable"]["Properties"].get("GlobalSecondaryIndexes", [])
        ),
    )


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The packaged template; packages the app first when there is none."""
    if not path.exists():
        from devtools.package import package

        package(ROOT, "prod", path.parent)
    return json.loads(path.read_text())


@dataclass
class Inputs:
    cognito_free_mau: int = 10_000
    mau: int = USERS
    as_templated: bool | None = None  # Orders GSIs projecting ALL; None: as the template has them
    durations_ms: dict[str, float] = field(default_factory=lambda: dict(DURATIONS_MS))
    payload_bytes: dict[str, int] = field(default_factory=lambda: dict(PAYLOAD_BYTES))
    calls: dict[str, int] = field(default_factory=lambda: dict(CALLS))
    cold_start_ms: float = 450.0
    measured: list[str] = field(default_factory=list)
    dax_nodes: int = 0  # EnableDax off; the template's default cluster is 3 nodes
    deployed: Deployed = field(default_factory=lambda: deployed_from(load_template()))
    average_order_cents: int = AVERAGE_ORDER_CENTS
    stripe_percent: float = STRIPE_PERCENT
    stripe_fixed_cents: int = STRIPE_FIXED_CENTS


@dataclass(frozen=True)
class StripeFees:
    per_order: float  # USD
    monthly: float

    def share_of(self, order_cents: int) -> float:
        return self.per_order * 100 / order_cents * 100


def stripe_fees(
    average_order_cents: int = AVERAGE_ORDER_CENTS,
    percent: float = STRIPE_PERCENT,
    fixed_cents: int = STRIPE_FIXED_CENTS,
    orders: int = ORDERS,
) -> StripeFees:
    """Stripe's fee on every captured order (the 3 % refunded later keep theirs)."""
    per_order = (average_order_cents * percent / 100 + fixed_cents) / 100
    return StripeFees(per_order, per_order * orders)


def stripe_text(lines: list[Line], inputs: Inputs) -> str:
    fees = stripe_fees(inputs.average_order_cents, inputs.stripe_percent, inputs.stripe_fixed_cents)
    aws_per_order = totals(lines).billed / ORDERS
    return (
        f"Stripe, beside the AWS bill: {inputs.stripe_percent:g} % + {inputs.stripe_fixed_cents}¢ per charge on "
        f"a ${inputs.average_order_cents / 100:,.2f} average order is ${fees.per_order:.4f} per order "
        f"({fees.share_of(inputs.average_order_cents):.1f} % of it), ${fees.monthly:,.0f}/month for "
        f"{ORDERS:,} orders: {fees.per_order / aws_per_order:,.0f} times the AWS bill per order "
        f"(${aws_per_order:.6f}); together ${fees.per_order + aws_per_order:.4f} per order."
    )


def load_measured(inputs: Inputs) -> Inputs:
    """Overrides the defaults with what ``make bench`` measured, where it measured it."""
    if not RESULTS.exists():
        return inputs
    data: dict[str, Any] = json.loads(RESULTS.read_text())
    core = data.get("core", {})
    if "cold_start_ms" in core:
        inputs.cold_start_ms = float(core["cold_start_ms"])
        inputs.measured.append("cold start")
    for section in data.values():
        if not isinstance(section, dict):
            continue
        for key, target in (("durations_ms", inputs.durations_ms), ("payload_bytes", inputs.payload_bytes)):
            for name, value in (section.get(key) or {}).items():
                if name in target:
                    target[name] = value
                    inputs.measured.append(f"{key}[{name}]")
        for name, value in (section.get("calls") or {}).items():
            if name in inputs.calls:
                inputs.calls[name] = int(value)
                inputs.measured.append(f"calls[{name}]")
    return inputs


def per_unit(service: str, item: str, quantity: float, price: str, *, free: float = 0.0, fixed: bool = False) -> Line:
    """A line billed per unit of ``price`` (``free`` units a month are free)."""
    value = P[price].value
    return Line(service, item, quantity, price, quantity * value, min(quantity, free) * value, fixed)


def _lambda(name: str, invocations: float, ms: float, inputs: Inputs) -> list[Line]:
    memory = inputs.deployed.memory_mb[name]
    gb = memory / 1024
    seconds = invocations * (ms + COLD_START_SHARE * inputs.cold_start_ms) / 1000
    return [
        Line("Lambda", f"{name} requests", invocations, "lambda_req", invocations / 1e6 * P["lambda_req"].value),
        Line(
            "Lambda",
            f"{name} {memory} MB x {ms:.0f} ms",
            seconds * gb,
            "lambda_gbs_arm",
            seconds * gb * P["lambda_gbs_arm"].value,
        ),
    ]


def model(inputs: Inputs) -> list[Line]:
    calls, d, size, deployed = inputs.calls, inputs.durations_ms, inputs.payload_bytes, inputs.deployed
    cacheable = sum(n for op, n in calls.items() if op in CACHEABLE)
    edge_hits = cacheable * CACHE_HIT_RATIO if deployed.edge_caches_api else 0.0
    origin = sum(calls.values()) - edge_hits  # requests reaching API Gateway (and its web ACL)
    stage_hits = (cacheable - edge_hits) * CACHE_HIT_RATIO if deployed.stage_cache_gb else 0.0
    invoked = origin - stage_hits  # requests reaching api_handler
    lines: list[Line] = []

    # Edge: CloudFront in front of the API and of the assets bucket.
    api_bytes = sum(
        n * (size["menu_response"] if "products" in op else size["api_response"]) for op, n in calls.items()
    )
    image_views = ORDERS * IMAGE_REQUESTS_PER_ORDER
    image_bytes = image_views * size["image"]
    cf_requests = sum(calls.values()) + image_views
    cf_gb = (api_bytes + image_bytes) / 1e9
    lines += [
        Line(
            "CloudFront",
            "HTTPS requests (API + images)",
            cf_requests,
            "cf_req",
            cf_requests / 1e6 * P["cf_req"].value,
            min(cf_requests, 10e6) / 1e6 * P["cf_req"].value,
        ),
        Line(
            "CloudFront", "data out, GB", cf_gb, "cf_gb", cf_gb * P["cf_gb"].value, min(cf_gb, 1000) * P["cf_gb"].value
        ),
    ]
    # WAF: the template's web ACL, on the REST API stage: it evaluates what reaches API Gateway.
    bot_inspected = calls["POST /orders"] + calls["POST /auth/*"]  # scope-down: auth and order placement
    rules = len(deployed.waf_rules)
    lines += [
        per_unit("WAF", "web ACL (regional, on the API stage)", 1, "waf_acl", fixed=True),
        per_unit("WAF", f"rules: {', '.join(deployed.waf_rules)}", rules, "waf_rule", fixed=True),
        Line("WAF", "requests evaluated", origin, "waf_req", origin / 1e6 * P["waf_req"].value),
    ]
    if deployed.bot_control_level:
        level = deployed.bot_control_level.lower()
        lines += [
            Line("WAF", f"Bot Control ({level}) subscription", 1, "bot_common", P["bot_common"].value, fixed=True),
            Line(
                "WAF",
                f"Bot Control {level} inspections (scope-down: /auth/*, POST /orders)",
                bot_inspected,
                f"bot_{level}_req",
                max(0.0, bot_inspected - (10e6 if level == "common" else 1e6)) / 1e6 * P[f"bot_{level}_req"].value,
            ),
        ]
    lines.append(
        Line(
            "API Gateway",
            "REST requests reaching API Gateway",
            origin,
            "apigw_rest",
            origin / 1e6 * P["apigw_rest"].value,
        )
    )
    if deployed.stage_cache_gb:
        cache = f"apigw_cache_{deployed.stage_cache_gb}"
        hours = 730
        lines.append(
            Line(
                "API Gateway",
                f"stage cache {deployed.stage_cache_gb} GB, hours (catalog GETs)",
                hours,
                cache,
                hours * P[cache].value,
                fixed=True,
            )
        )

    # Lambda, arm64.
    reads = invoked - calls["POST /orders"] - calls["POST /orders/{id}/status"]
    api_ms = (
        reads * d["read"]
        + calls["POST /orders"] * d["POST /orders"]
        + calls["POST /orders/{id}/status"] * d["POST /orders/{id}/status"]
    ) / invoked
    lines += _lambda("api_handler", invoked, api_ms, inputs)
    batches = ORDERS / 2  # FIFO batches of <= 10: about two orders per poll outside the peak
    lines += _lambda("process_order", batches, d["process_order"] * 2, inputs)
    lines += _lambda("payment", ORDERS * 1.03, d["payment"], inputs)  # refunds of rejected/cancelled orders
    stream_records = ORDERS * ORDER_WRITES
    notify_batches = stream_records / 5
    lines += _lambda("notify", notify_batches, d["notify"], inputs)
    sweeps = 60 * 24 * 30
    lines += _lambda("sweep_pending_orders", sweeps, d["sweep_pending_orders"], inputs)

    # DynamoDB on-demand.
    projected_all = deployed.orders_indexes_project_all if inputs.as_templated is None else inputs.as_templated
    order_wru = ORDERS * (ORDER_WRU_AS_TEMPLATED if projected_all else ORDER_WRU_RECOMMENDED)
    stock_wru = ORDERS * STOCK_WRU
    inbox_wru = ORDERS * INBOX_WRU
    other_wru = calls["GET|PUT /users/me"] * 0.2 + calls["POST /auth/*"] * 0.1
    wru = order_wru + stock_wru + inbox_wru + other_wru
    rru = (
        reads * RRU["list"]
        + calls["POST /orders"] * RRU["POST /orders"]
        + calls["POST /orders/{id}/status"] * RRU["POST /orders/{id}/status"]
        + ORDERS * 2  # process_order reads the order and checks the restaurant
        + sweeps * 1
    )
    storage_gb = ORDERS * 12 * 1.5e3 * (1 if not projected_all else 5) / 1e9 + 0.5  # a year of orders (+ GSI copies)
    lines += [
        Line(
            "DynamoDB",
            "write request units"
            + (" (as templated: GSIs projecting ALL)" if projected_all else " (KEYS_ONLY GSIs, sparse status index)"),
            wru,
            "ddb_wru",
            wru / 1e6 * P["ddb_wru"].value,
        ),
        Line("DynamoDB", "read request units", rru, "ddb_rru", rru / 1e6 * P["ddb_rru"].value),
        Line(
            "DynamoDB",
            "storage, GB (a year of orders)",
            storage_gb,
            "ddb_storage",
            storage_gb * P["ddb_storage"].value,
            min(storage_gb, 25) * P["ddb_storage"].value,
        ),
        Line("DynamoDB", "Orders stream reads (Lambda trigger)", stream_records, "ddb_streams", 0.0),
    ]
    # SQS FIFO: send, receive, delete per order (receives and deletes are batched by Lambda).
    # the event source mapping keeps 5 long polls (20 s) open: 15 receives a minute when idle
    sqs_requests = ORDERS * 1 + batches * 2 + 43_200 * 15
    lines.append(
        Line(
            "SQS FIFO",
            "requests (send, batched receive/delete, polls)",
            sqs_requests,
            "sqs_fifo",
            sqs_requests / 1e6 * P["sqs_fifo"].value,
            min(sqs_requests, 1e6) / 1e6 * P["sqs_fifo"].value,
        )
    )
    # Live updates: frames to every recipient's sockets, pushes to their devices.
    two_ends = ORDERS * LIVE_CHANGES * 2 + ORDERS * 2  # customer + owner every change, the carrier two
    broadcast = ORDERS * 2 * max(0, COURIERS_CONNECTED - 1)  # READY and the claim to the other couriers
    connection_minutes = (
        ORDERS * CUSTOMER_MINUTES_PER_ORDER
        + RESTAURANT_BOARDS * BOARD_HOURS_PER_DAY * 60 * 30
        + COURIERS_ON_SHIFT_DAILY * SHIFT_HOURS * 60 * 30
    )
    pings = connection_minutes / PING_EVERY_MINUTES * 2  # each ping and its pong
    ws_messages = two_ends + broadcast + pings
    lines += [
        Line(
            "API Gateway WebSocket",
            f"messages: two ends {two_ends / 1e6:.0f}M, courier broadcast {broadcast / 1e6:.0f}M, pings {pings / 1e6:.0f}M",
            ws_messages,
            "ws_messages",
            ws_messages / 1e6 * P["ws_messages"].value,
        ),
        Line(
            "API Gateway WebSocket",
            "connection minutes (customers per order, restaurant boards, courier shifts)",
            connection_minutes,
            "ws_minutes",
            connection_minutes / 1e6 * P["ws_minutes"].value,
        ),
    ]
    pushes = (two_ends + broadcast) * DEVICES_PER_USER
    # Each recipient's inbox entry is its claim: written, then marked sent (2 WRU), less the
    # customer's entries counted above; lookups (connections, devices) are reads of < 4 KB.
    inbox_extra_wru = 2 * (two_ends + broadcast) - ORDERS * INBOX_WRU
    lines.append(
        Line(
            "DynamoDB",
            "inbox claims of every recipient (write, then mark sent)",
            inbox_extra_wru,
            "ddb_wru",
            inbox_extra_wru / 1e6 * P["ddb_wru"].value,
        )
    )
    # SNS: one publish per notified change on the order-events topic; mobile push to each
    # device of each recipient; HTTPS to the restaurant integrations.
    publishes = ORDERS * 5
    lines += [
        Line(
            "SNS",
            "publishes",
            publishes,
            "sns_publish",
            publishes / 1e6 * P["sns_publish"].value,
            1e6 / 1e6 * P["sns_publish"].value,
        ),
        Line(
            "SNS",
            f"mobile push deliveries ({DEVICES_PER_USER} devices per recipient)",
            pushes,
            "sns_push",
            pushes / 1e6 * P["sns_push"].value,
        ),
        Line("SNS", "HTTPS deliveries (restaurants)", ORDERS * 2, "sns_http", ORDERS * 2 / 1e6 * P["sns_http"].value),
    ]
    # S3: product images (uploads by presigned POST; reads mostly absorbed by CloudFront).
    image_gb = 5_000 * 40 * 0.1 / 1e3  # 5K restaurants x 40 products x 100 KB (original + thumbnail)
    origin_gets = image_views * 0.05
    lines += [
        Line("S3", "image storage, GB", image_gb, "s3_storage", image_gb * P["s3_storage"].value),
        Line("S3", "uploads (presigned POST)", 20_000, "s3_put", 20_000 / 1e3 * P["s3_put"].value),
        Line("S3", "GETs from CloudFront misses", origin_gets, "s3_get", origin_gets / 1e3 * P["s3_get"].value),
    ]
    # Cognito: every user who signs in or refreshes a token in the month is a MAU.
    tier = deployed.cognito_tier.lower()
    free_mau = 0 if tier == "plus" else inputs.cognito_free_mau
    billable_mau = max(0, inputs.mau - free_mau)
    lines.append(
        Line(
            "Cognito",
            f"MAU ({inputs.mau:,}, {free_mau:,} free), {tier.capitalize()} tier",
            billable_mau,
            f"cognito_{tier}",
            billable_mau * P[f"cognito_{tier}"].value,
        )
    )
    # CloudWatch: Lambda platform lines (JSON format, system level WARN: only REPORT kept),
    # app lines for failed/slow requests and events, EMF metrics; API Gateway access log
    # in an Infrequent Access log group.
    invocations = invoked + batches + ORDERS * 1.03 + notify_batches + sweeps
    lambda_log_gb = (invocations * 330 + invoked * 0.06 * 600 + (batches + notify_batches) * 900) / 1e9
    access_log_gb = origin * 350 / 1e9
    lines += [
        Line(
            "CloudWatch",
            "Lambda + EMF log ingestion, GB",
            lambda_log_gb,
            "cw_logs_ingest",
            lambda_log_gb * P["cw_logs_ingest"].value,
            min(lambda_log_gb, 5) * P["cw_logs_ingest"].value,
        ),
        Line(
            "CloudWatch",
            "API access log ingestion (IA class), GB",
            access_log_gb,
            "cw_logs_ingest_ia",
            access_log_gb * P["cw_logs_ingest_ia"].value,
        ),
        Line(
            "CloudWatch",
            "log storage, GB-month (30-day retention)",
            lambda_log_gb + access_log_gb,
            "cw_logs_store",
            (lambda_log_gb + access_log_gb) * P["cw_logs_store"].value,
        ),
        per_unit("CloudWatch", "custom metrics (EMF)", 10, "cw_metric", free=10),
        per_unit(
            "CloudWatch",
            "alarms (queue depths, 5xx rate, latency, errors and throttles per function)",
            deployed.alarms,
            "cw_alarm",
            free=ALARMS_FREE,
            fixed=True,
        ),
        per_unit("CloudWatch", "dashboards", deployed.dashboards, "cw_dashboard", free=DASHBOARDS_FREE, fixed=True),
    ]
    lines.append(per_unit("Secrets Manager", "secrets (the cursor key)", deployed.secrets, "secret", fixed=True))
    lines.append(
        per_unit("Secrets Manager", "Stripe's API key and webhook secret", STRIPE_SECRETS, "secret", fixed=True)
    )
    # X-Ray: the template's sampling rule (1 %, no reservoir); the default (1/s + 5 %) would
    # record about 2.4M traces, $12.
    traces = (origin + ORDERS * 2) * deployed.trace_rate
    lines.append(
        Line(
            "X-Ray",
            f"traces recorded ({deployed.trace_rate:.0%} sampling)",
            traces,
            "xray_trace",
            traces / 1e6 * P["xray_trace"].value,
            min(traces, 1e5) / 1e6 * P["xray_trace"].value,
        )
    )
    # DAX (EnableDax): nodes bill by the hour whether read or not; off by default.
    lines.append(
        Line(
            "DAX",
            f"dax.t3.small node-hours, {inputs.dax_nodes} nodes" + ("" if inputs.dax_nodes else " (EnableDax off)"),
            inputs.dax_nodes * 730,
            "dax_node",
            inputs.dax_nodes * 730 * P["dax_node"].value,
        )
    )
    return lines


def peak(inputs: Inputs) -> str:
    daily = sum(inputs.calls.values()) / 30
    lunch_rps = daily * 0.4 / 7200  # 40 % of a day's requests between 11:30 and 13:30
    peak_rps = lunch_rps * 3  # the busiest minutes
    concurrency = math.ceil(peak_rps * inputs.durations_ms["POST /orders"] / 1000 * 2)
    return (
        f"lunch peak: {lunch_rps:.0f} req/s on average between 11:30 and 13:30, about {peak_rps:.0f} req/s "
        f"in the busiest minutes: about {concurrency} concurrent api_handler environments (no provisioned "
        "concurrency needed; every price above is per request, so the peak changes the bill only by its volume)"
    )


def render(lines: list[Line], inputs: Inputs, markdown: bool = False) -> str:
    services: dict[str, list[Line]] = {}
    for line in lines:
        services.setdefault(line.service, []).append(line)
    out: list[str] = []
    sep = " | " if markdown else "  "
    header = ("service", "item", "quantity", "price (USD)", "list $/mo", "billed $/mo")
    rows = []
    for service, items in services.items():
        for line in items:
            price = P[line.price]
            rows.append(
                (
                    service,
                    line.item,
                    f"{line.quantity:,.0f}" if line.quantity >= 10 else f"{line.quantity:,.2f}",
                    f"{price.value:g} {price.unit}",
                    f"{line.monthly:,.2f}",
                    f"{line.billed:,.2f}",
                )
            )
        rows.append(
            (
                service,
                "subtotal",
                "",
                "",
                f"{sum(i.monthly for i in items):,.2f}",
                f"{sum(i.billed for i in items):,.2f}",
            )
        )
    total = sum(line.monthly for line in lines)
    billed = sum(line.billed for line in lines)
    rows.append(("TOTAL", "", "", "", f"{total:,.2f}", f"{billed:,.2f}"))
    rows.append(("per order", f"{ORDERS:,} orders", "", "", f"{total / ORDERS:.6f}", f"{billed / ORDERS:.6f}"))
    if markdown:
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        widths[3] = min(widths[3], 48)

        def fmt(row: tuple[str, ...]) -> str:
            cells = [c[: widths[3]] if i == 3 else c for i, c in enumerate(row)]
            return sep.join(c.rjust(widths[i]) if i >= 4 else c.ljust(widths[i]) for i, c in enumerate(cells))

        out.append(fmt(header))
        out.append(sep.join("-" * w for w in widths))
        out += [fmt(r) for r in rows]
    out.append("")
    out.append(f"prices: us-east-1 list prices read in {AS_OF}; sources:")
    for url in sorted({P[line.price].source for line in lines}):
        out.append(f"  {url}")
    out += notes(lines, inputs)
    out.append(stripe_text(lines, inputs))
    out.append(
        f"measured inputs used: {', '.join(inputs.measured) or 'none (run make bench first); documented defaults'}"
    )
    broadcast = ORDERS * 2 * max(0, COURIERS_CONNECTED - 1)
    per_recipient = P["ws_messages"].value + 2 * P["ddb_wru"].value + DEVICES_PER_USER * P["sns_push"].value
    out.append(
        f"live updates: the courier broadcast (READY and the claim to all {COURIERS_CONNECTED} connected couriers, "
        f"each with a frame, {DEVICES_PER_USER} pushes and an inbox entry) costs "
        f"${broadcast / 1e6 * per_recipient:,.2f} of this bill; scoping it to the couriers of the restaurant's "
        "zone divides that by the number of zones, and sending it as frames only (no push, no inbox) by about 3."
    )
    return "\n".join(out)


@dataclass(frozen=True)
class Totals:
    listed: float
    billed: float
    by_service: dict[str, float]
    at_rest: float  # what the deployed stack bills with no traffic

    @property
    def without_cognito(self) -> float:
        return self.billed - self.by_service.get("Cognito", 0.0)


def totals(lines: list[Line]) -> Totals:
    by_service: dict[str, float] = {}
    for line in lines:
        by_service[line.service] = by_service.get(line.service, 0.0) + line.billed
    return Totals(
        listed=sum(line.monthly for line in lines),
        billed=sum(line.billed for line in lines),
        by_service=by_service,
        at_rest=sum(line.billed for line in lines if line.fixed),
    )


def notes(lines: list[Line], inputs: Inputs) -> list[str]:
    t = totals(lines)
    bot_inspected = inputs.calls["POST /orders"] + inputs.calls["POST /auth/*"]
    all_requests = sum(inputs.calls.values())
    targeted_all = P["bot_common"].value + max(0, all_requests - 1e6) / 1e6 * P["bot_targeted_req"].value
    targeted_scoped = P["bot_common"].value + max(0, bot_inspected - 1e6) / 1e6 * P["bot_targeted_req"].value
    out = []
    if inputs.deployed.bot_control_level:
        out.append(
            f"Bot Control: {inputs.deployed.bot_control_level.lower()} level, scoped down to /auth/* and POST /orders "
            f"({bot_inspected / 1e6:.1f}M inspections): ${P['bot_common'].value + P['waf_rule'].value:.2f}/month "
            f"with its rule. The targeted level on every request would cost ${targeted_all:,.2f}; targeted with "
            f"the same scope-down, ${targeted_scoped:,.2f}."
        )
    out.append(peak(inputs))
    verdict = "within" if t.billed <= 92 else "OVER"
    out.append(
        f"reference design ~$92/month: this bill is ${t.billed:,.2f} after the permanent free tiers "
        f"(${t.listed:,.2f} at list price), {verdict} the target. Everything but Cognito comes to "
        f"${t.without_cognito:,.2f}; Cognito ({inputs.deployed.cognito_tier} tier) is "
        f"${t.by_service.get('Cognito', 0.0):,.2f} with {inputs.cognito_free_mau:,} free MAU; with no traffic the "
        f"stack bills ${t.at_rest:,.2f} (see docs/cost.md)."
    )
    return out


# --- the figures the docs quote ------------------------------------------------------------

DOCS = (ROOT / "docs" / "cost.md", ROOT / "docs" / "deploy.md")
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) .*?-->\n)(.*?)(<!-- end generated: (?P=name) -->)", re.S)


def blocks(sam: dict[str, Any]) -> dict[str, str]:
    """The generated blocks of the docs, from the template and the documented defaults."""
    inputs = Inputs(deployed=deployed_from(sam))
    lines = model(inputs)
    t = totals(lines)
    legacy = Inputs(deployed=inputs.deployed, cognito_free_mau=50_000)
    legacy_billed = totals(model(legacy)).billed
    d = inputs.deployed
    summary = [
        f"- **The bill: ${t.billed:,.2f}/month** after the permanent free tiers (${t.listed:,.2f} at list "
        f"price), ${t.billed / ORDERS:.6f} per order.",
        f"- **Everything except Cognito: ${t.without_cognito:,.2f}/month.** Cognito, on the template's "
        f"{d.cognito_tier} tier with {inputs.cognito_free_mau:,} free MAU, is "
        f"${t.by_service.get('Cognito', 0.0):,.2f}; a pool on the former 50K-MAU free tier brings the total "
        f"to ${legacy_billed:,.2f}.",
        f"- **At rest** (deployed, no traffic): ${t.at_rest:,.2f}/month: the web ACL with {len(d.waf_rules)} "
        "rules"
        + (" and Bot Control" if d.bot_control_level else "")
        + (f", the {d.stage_cache_gb} GB stage cache" if d.stage_cache_gb else "")
        + f", {d.alarms} alarms, {d.dashboards} dashboard(s), {d.secrets} secret(s).",
        f"- Traces: {d.trace_rate:.0%} sampling. " + peak(inputs) + ".",
        "- **Payments:** " + stripe_text(lines, inputs),
    ]
    per_service = ["| service | billed $/month |", "|---|---|"]
    per_service += [f"| {service} | {amount:,.2f} |" for service, amount in t.by_service.items()]
    per_service += [f"| **total** | **{t.billed:,.2f}** |", f"| at rest (no traffic) | {t.at_rest:,.2f} |"]
    functions = ["| function | memory | timeout | reserved concurrency |", "|---|---|---|---|"]
    functions += [
        f"| {name} | {d.memory_mb[name]} MB | {d.timeout_s[name]} s | {d.reserved_concurrency.get(name, 'none')} |"
        for name in sorted(d.memory_mb)
    ]
    return {
        "cost-summary": "\n".join(summary),
        "cost-bill": render(lines, inputs, markdown=True).split("\n\nprices:", 1)[0],
        "deploy-cost": "\n".join(per_service),
        "deploy-functions": "\n".join(functions),
    }


def rewrite(text: str, generated: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        return match.group(1) + generated[name] + "\n" + match.group(4) if name in generated else match.group(0)

    return BLOCK.sub(fill, text)


def stale_docs(sam: dict[str, Any]) -> list[str]:
    """The docs whose generated blocks differ from what the template gives now."""
    generated = blocks(sam)
    return [str(doc.relative_to(ROOT)) for doc in DOCS if rewrite(doc.read_text(), generated) != doc.read_text()]


def write_docs(sam: dict[str, Any]) -> None:
    generated = blocks(sam)
    for doc in DOCS:
        doc.write_text(rewrite(doc.read_text(), generated))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--cognito-free-mau", type=int, default=10_000, help="50000 for pools on the legacy free tier")
    parser.add_argument("--mau", type=int, default=USERS)
    parser.add_argument("--recommended", action="store_true", help="Orders GSIs KEYS_ONLY with a sparse status index")
    parser.add_argument(
        "--template", type=Path, default=TEMPLATE, help="the packaged template (default: dist/sam.json)"
    )
    parser.add_argument("--dax-nodes", type=int, default=0, help="EnableDax on: the cluster's nodes (3 by default)")
    parser.add_argument("--write-docs", action="store_true", help="regenerate the figures docs/*.md quote")
    parser.add_argument("--average-order-cents", type=int, default=AVERAGE_ORDER_CENTS, help="for Stripe's fees")
    parser.add_argument("--stripe-percent", type=float, default=STRIPE_PERCENT)
    parser.add_argument("--stripe-fixed-cents", type=int, default=STRIPE_FIXED_CENTS)
    args = parser.parse_args(argv)
    sam = load_template(args.template)
    if args.write_docs:
        write_docs(sam)
        return
    inputs = Inputs(
        cognito_free_mau=args.cognito_free_mau,
        mau=args.mau,
        as_templated=False if args.recommended else None,
        deployed=deployed_from(sam),
        dax_nodes=args.dax_nodes,
        average_order_cents=args.average_order_cents,
        stripe_percent=args.stripe_percent,
        stripe_fixed_cents=args.stripe_fixed_cents,
    )
    inputs = load_measured(inputs)
    print(render(model(inputs), inputs, markdown=args.markdown))


if __name__ == "__main__":
    main()

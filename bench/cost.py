"""``make cost``: the monthly AWS bill of the stated traffic model, per service and per order.

    python -m bench.cost [--markdown] [--cognito-free-mau 10000] [--as-templated]

Calls per operation, Lambda durations and payload sizes come from ``.local/bench.json``
(written by ``make bench``; sections from bench/catalog.py and bench/pipeline.py may add
``durations_ms``, ``payload_bytes``, ``dynamo`` and ``calls``) and otherwise from the
documented defaults below. Prices are us-east-1 list prices, each with its page and the
month it was read; re-read them before quoting the figure. docs/cost.md explains the model.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from typing import Any

from bench.common import RESULTS

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
    "s3_storage": Price(0.023, "per GB-month, Standard", "https://aws.amazon.com/s3/pricing/"),
    "s3_put": Price(0.005, "per 1,000 PUT/POST", "https://aws.amazon.com/s3/pricing/"),
    "s3_get": Price(0.0004, "per 1,000 GET", "https://aws.amazon.com/s3/pricing/"),
    "cf_gb": Price(0.085, "per GB out, North America (first 10 TB)", "https://aws.amazon.com/cloudfront/pricing/"),
    "cf_req": Price(1.00, "per million HTTPS requests", "https://aws.amazon.com/cloudfront/pricing/"),
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
    "cw_logs_ingest": Price(0.50, "per GB ingested, Standard class", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_logs_ingest_ia": Price(
        0.25, "per GB ingested, Infrequent Access class", "https://aws.amazon.com/cloudwatch/pricing/"
    ),
    "cw_logs_store": Price(0.03, "per GB-month archived", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_metric": Price(0.30, "per custom metric-month (first 10 free)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_alarm": Price(0.10, "per standard alarm-month (first 10 free)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace": Price(5.00, "per million traces recorded (first 100K free)", "https://aws.amazon.com/xray/pricing/"),
}

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
# Public catalog reads carry Cache-Control; CloudFront answers this share without calling
# API Gateway (menus change rarely; 30 s freshness at lunch means many hits per menu).
CACHEABLE = {"GET /restaurants/{id}/products", "GET /restaurants", "GET /restaurants/{id}"}
EDGE_HIT_RATIO = 0.6

# Lambda: memory (MB) and billed duration (ms) per invocation, arm64.
DURATIONS_MS: dict[str, float] = {
    "read": 18.0,  # one DynamoDB round trip + JSON
    "POST /orders": 45.0,  # BatchGet of prices, idempotent put, SQS send
    "POST /orders/{id}/status": 30.0,  # conditional update
    "process_order": 60.0,  # per record: payment invoke + one transaction
    "payment": 250.0,  # provider round trip (mostly waiting)
    "notify": 35.0,  # per batch: SNS publish(es) + inbox writes
    "sweep_pending_orders": 120.0,
}
MEMORY_MB = {"api_handler": 512, "process_order": 256, "payment": 128, "notify": 256, "sweep_pending_orders": 256}
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
# and, once a courier is set, rewrites by_courier.
ORDER_WRU_AS_TEMPLATED = ORDER_WRITES * (1 + 1 + 1 + 2) + 3 + 1
# Recommended: KEYS_ONLY/INCLUDE projections (an index entry is written only when its key
# changes) and a sparse status index (an attribute present only while PENDING or READY,
# the two states someone lists: the sweeper and couriers): 7 base writes + 1 extra for the
# transaction + by_customer, by_restaurant at creation + by_courier at pick-up + 4 moves of
# the sparse index.
ORDER_WRU_RECOMMENDED = ORDER_WRITES + 1 + 2 + 1 + 4
STOCK_WRU = 3 * 2  # three products per order, in the transaction (2x)
IDEMPOTENCY_WRU = 2  # in progress, then completed; the TTL expiry delete is free
INBOX_WRU = 5  # one inbox item per change the customer is told about
RRU = {"read": 1.0, "list": 2.0, "POST /orders": 2.0, "POST /orders/{id}/status": 1.0}


@dataclass
class Line:
    service: str
    item: str
    quantity: float
    price: str
    monthly: float
    free: float = 0.0  # the part a permanent free tier covers

    @property
    def billed(self) -> float:
        return max(0.0, self.monthly - self.free)


@dataclass
class Inputs:
    cognito_free_mau: int = 10_000
    mau: int = USERS
    as_templated: bool = False
    durations_ms: dict[str, float] = field(default_factory=lambda: dict(DURATIONS_MS))
    payload_bytes: dict[str, int] = field(default_factory=lambda: dict(PAYLOAD_BYTES))
    calls: dict[str, int] = field(default_factory=lambda: dict(CALLS))
    cold_start_ms: float = 450.0
    measured: list[str] = field(default_factory=list)
    dax_nodes: int = 0  # EnableDax off; the template's default cluster is 3 nodes


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


def _lambda(name: str, invocations: float, ms: float, inputs: Inputs) -> list[Line]:
    gb = MEMORY_MB[name] / 1024
    seconds = invocations * (ms + COLD_START_SHARE * inputs.cold_start_ms) / 1000
    return [
        Line("Lambda", f"{name} requests", invocations, "lambda_req", invocations / 1e6 * P["lambda_req"].value),
        Line(
            "Lambda",
            f"{name} {MEMORY_MB[name]} MB x {ms:.0f} ms",
            seconds * gb,
            "lambda_gbs_arm",
            seconds * gb * P["lambda_gbs_arm"].value,
        ),
    ]


def model(inputs: Inputs) -> list[Line]:
    calls, d, size = inputs.calls, inputs.durations_ms, inputs.payload_bytes
    edge_hits = sum(n for op, n in calls.items() if op in CACHEABLE) * EDGE_HIT_RATIO
    origin = sum(calls.values()) - edge_hits
    lines: list[Line] = []

    # Edge: CloudFront in front of the API (WAF attached there) and of the assets bucket.
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
    # WAF on the API distribution only (images have their own, static distribution).
    bot_inspected = calls["POST /orders"] + calls["POST /auth/*"]  # scope-down: auth and order placement
    lines += [
        Line("WAF", "web ACL", 1, "waf_acl", P["waf_acl"].value),
        Line(
            "WAF", "rules: rate limit per IP, AWS common rule set, Bot Control", 3, "waf_rule", 3 * P["waf_rule"].value
        ),
        Line(
            "WAF", "requests evaluated", sum(calls.values()), "waf_req", sum(calls.values()) / 1e6 * P["waf_req"].value
        ),
        Line("WAF", "Bot Control (common) subscription", 1, "bot_common", P["bot_common"].value),
        Line(
            "WAF",
            "Bot Control inspections (scope-down: /auth/*, POST /orders)",
            bot_inspected,
            "bot_common_req",
            max(0.0, bot_inspected - 10e6) / 1e6 * P["bot_common_req"].value,
        ),
    ]
    lines.append(
        Line(
            "API Gateway",
            "REST requests reaching the origin",
            origin,
            "apigw_rest",
            origin / 1e6 * P["apigw_rest"].value,
        )
    )

    # Lambda, arm64.
    reads = origin - calls["POST /orders"] - calls["POST /orders/{id}/status"]
    api_ms = (
        reads * d["read"]
        + calls["POST /orders"] * d["POST /orders"]
        + calls["POST /orders/{id}/status"] * d["POST /orders/{id}/status"]
    ) / origin
    lines += _lambda("api_handler", origin, api_ms, inputs)
    batches = ORDERS / 2  # FIFO batches of <= 10: about two orders per poll outside the peak
    lines += _lambda("process_order", batches, d["process_order"] * 2, inputs)
    lines += _lambda("payment", ORDERS * 1.03, d["payment"], inputs)  # refunds of rejected/cancelled orders
    stream_records = ORDERS * ORDER_WRITES
    notify_batches = stream_records / 5
    lines += _lambda("notify", notify_batches, d["notify"], inputs)
    sweeps = 60 * 24 * 30
    lines += _lambda("sweep_pending_orders", sweeps, d["sweep_pending_orders"], inputs)

    # DynamoDB on-demand.
    order_wru = ORDERS * (ORDER_WRU_AS_TEMPLATED if inputs.as_templated else ORDER_WRU_RECOMMENDED)
    stock_wru = ORDERS * STOCK_WRU
    idempotency_wru = ORDERS * IDEMPOTENCY_WRU
    inbox_wru = ORDERS * INBOX_WRU
    other_wru = calls["GET|PUT /users/me"] * 0.2 + calls["POST /auth/*"] * 0.1
    wru = order_wru + stock_wru + idempotency_wru + inbox_wru + other_wru
    rru = (
        reads * RRU["list"]
        + calls["POST /orders"] * RRU["POST /orders"]
        + calls["POST /orders/{id}/status"] * RRU["POST /orders/{id}/status"]
        + ORDERS * 2  # process_order reads the order and checks the restaurant
        + sweeps * 1
    )
    storage_gb = (
        ORDERS * 12 * 1.5e3 * (1 if not inputs.as_templated else 5) / 1e9 + 0.5
    )  # a year of orders (+ GSI copies)
    lines += [
        Line(
            "DynamoDB",
            "write request units"
            + (
                " (as templated: GSIs projecting ALL)"
                if inputs.as_templated
                else " (KEYS_ONLY GSIs, sparse status index)"
            ),
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
    # SNS: one publish per notified change; push to the customer, HTTPS to the restaurant.
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
        Line("SNS", "mobile push deliveries", ORDERS * 4, "sns_push", ORDERS * 4 / 1e6 * P["sns_push"].value),
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
    billable_mau = max(0, inputs.mau - inputs.cognito_free_mau)
    lines.append(
        Line(
            "Cognito",
            f"MAU ({inputs.mau:,}, {inputs.cognito_free_mau:,} free), Lite tier",
            billable_mau,
            "cognito_lite",
            billable_mau * P["cognito_lite"].value,
        )
    )
    # CloudWatch: Lambda platform lines (JSON format, system level WARN: only REPORT kept),
    # app lines for failed/slow requests and events, EMF metrics; API Gateway access log
    # in an Infrequent Access log group.
    invocations = origin + batches + ORDERS * 1.03 + notify_batches + sweeps
    lambda_log_gb = (invocations * 330 + origin * 0.06 * 600 + (batches + notify_batches) * 900) / 1e9
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
        Line(
            "CloudWatch", "custom metrics (EMF)", 10, "cw_metric", 10 * P["cw_metric"].value, 10 * P["cw_metric"].value
        ),
        Line(
            "CloudWatch",
            "alarms (DLQ depth, 5xx, latency, throttles, payment errors)",
            8,
            "cw_alarm",
            8 * P["cw_alarm"].value,
            8 * P["cw_alarm"].value,
        ),
    ]
    # X-Ray: a sampling rule of 1 % with no reservoir; the default (1/s + 5 %) would record
    # about 2.4M traces, $12.
    traces = (origin + ORDERS * 2) * 0.01
    lines.append(
        Line(
            "X-Ray",
            "traces recorded (1 % sampling)",
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
    by_service = {s: sum(i.billed for i in items) for s, items in services.items()}
    without_cognito = billed - by_service.get("Cognito", 0.0)
    bot_inspected = inputs.calls["POST /orders"] + inputs.calls["POST /auth/*"]
    all_requests = sum(inputs.calls.values())
    targeted_all = P["bot_common"].value + max(0, all_requests - 1e6) / 1e6 * P["bot_targeted_req"].value
    targeted_scoped = P["bot_common"].value + max(0, bot_inspected - 1e6) / 1e6 * P["bot_targeted_req"].value
    out.append("")
    out.append(f"prices: us-east-1 list prices read in {AS_OF}; sources:")
    for url in sorted({P[line.price].source for line in lines}):
        out.append(f"  {url}")
    out.append(
        f"Bot Control: common level, scoped down to /auth/* and POST /orders ({bot_inspected / 1e6:.1f}M inspections, "
        f"inside the 10M included): ${P['bot_common'].value + P['waf_rule'].value:.2f}/month. The targeted level on "
        f"every request would cost ${targeted_all:,.2f} and alone break the budget; targeted with the same "
        f"scope-down, ${targeted_scoped:,.2f}."
    )
    out.append(
        f"measured inputs used: {', '.join(inputs.measured) or 'none (run make bench first); documented defaults'}"
    )
    out.append(peak(inputs))
    verdict = "within" if billed <= 92 else "OVER"
    out.append(
        f"reference design ~$92/month: this bill is ${billed:,.2f} after the permanent free tiers (${total:,.2f} at "
        f"list price), {verdict} the target. Everything but Cognito comes to ${without_cognito:,.2f}; Cognito "
        f"MAU is ${by_service.get('Cognito', 0.0):,.2f} with {inputs.cognito_free_mau:,} free MAU "
        "(see docs/cost.md)."
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--cognito-free-mau", type=int, default=10_000, help="50000 for pools on the legacy free tier")
    parser.add_argument("--mau", type=int, default=USERS)
    parser.add_argument(
        "--as-templated", action="store_true", help="Orders GSIs projecting ALL, as infra/ has them now"
    )
    parser.add_argument("--dax-nodes", type=int, default=0, help="EnableDax on: the cluster's nodes (3 by default)")
    args = parser.parse_args(argv)
    inputs = load_measured(Inputs(cognito_free_mau=args.cognito_free_mau, mau=args.mau, as_templated=args.as_templated))
    inputs.dax_nodes = args.dax_nodes
    print(render(model(inputs), inputs, markdown=args.markdown))


if __name__ == "__main__":
    main()

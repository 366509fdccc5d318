"""Typed settings, parsed once from the environment of the running stage."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The push platforms a device may register for (chalicelib/domain/live.py maps them to SNS).
PUSH_PLATFORMS = ("apns", "apns_sandbox", "fcm")


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class StageMisconfigured(RuntimeError):
    """The stage's environment lacks what it needs to run (the message says what)."""


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    users_table: str
    restaurants_table: str
    products_table: str
    orders_table: str
    notifications_table: str
    orders_queue_url: str
    order_events_topic_arn: str
    assets_bucket: str
    assets_base_url: str
    user_pool_id: str
    user_pool_client_id: str
    # On AWS the API Gateway Cognito authorizer has verified the token already; locally and
    # in tests the app verifies it itself against the pool's JWKS.
    verify_tokens: bool
    jwks_url: str
    cursor_key: str
    payment_function_name: str
    invoke_payment_in_process: bool
    catalog_cache_seconds: int
    # The emulator's URL locally (AWS_ENDPOINT_URL); empty on AWS.
    endpoint_url: str = ""
    # How long an image upload form stays valid.
    image_upload_seconds: int = 300

    @property
    def assets_url(self) -> str:
        """Where uploaded images are served from: the CDN (ASSETS_BASE_URL) on AWS, the
        bucket itself on the emulator."""
        if self.assets_base_url:
            return self.assets_base_url
        if self.endpoint_url:
            return f"{self.endpoint_url}/{self.assets_bucket}"
        return f"https://{self.assets_bucket}.s3.{self.region}.amazonaws.com"

    # --- orders ---
    # "fake" (the test tokens of API.md) on every stage but prod, which takes real payments
    # through "stripe".
    payment_provider: str = "fake"
    # Secrets Manager secrets (their names or ARNs; the values never sit in the environment):
    # Stripe's secret API key (the payment function reads it) and the webhook endpoint's
    # signing secret (the API reads it).
    stripe_api_key_secret: str = ""
    stripe_webhook_secret: str = ""
    # Stripe's API address: its own unless pointed elsewhere (the tests' local Stripe).
    stripe_api_base: str = ""
    # A payment the provider cannot take is retried with a growing delay (the message's
    # visibility: base, doubled per receive, capped) until this long after placement; then
    # the order fails with payment_unavailable.
    payment_retry_base_seconds: int = 15
    payment_retry_cap_seconds: int = 180
    payment_retry_bound_seconds: int = 900
    # How long a card needing 3-D Secure waits for its holder before the order fails.
    payment_action_seconds: int = 900
    # moto as shipped cannot run concurrent writes beside a cancelled transaction (it restores
    # whole tables): SERIALIZE_WRITES=true has the order writes of one process take turns.
    # The emulator devtools/ starts rolls back only what a transaction touched.
    serialize_writes: bool = False
    sweep_max_age_seconds: int = 86400
    # --- edge ---
    # The web app's API key (not a secret: every browser holds it), for GET /client-config.
    web_api_key: str = ""
    # The DAX cluster's discovery endpoint (dax://...) when the stack has EnableDax on.
    dax_endpoint: str = ""
    # Local stack only: the emulator fires no Cognito triggers, so /auth/confirm runs the
    # post-confirmation handler itself (on AWS the user pool invokes the function).
    post_confirmation_in_process: bool = False

    # --- money ---
    promo_codes_table: str = ""

    # --- live updates ---
    connections_table: str = ""
    devices_table: str = ""
    # --- dispatch ---
    couriers_table: str = ""
    # A courier's position is kept this long after its last report (DynamoDB TTL), and
    # taken at most once per ``location_interval_seconds``; the ETA assumes this speed.
    location_ttl_seconds: int = 900
    location_interval_seconds: int = 5
    courier_speed_kmh: float = 20.0
    # The WebSocket management API (https://<api>.execute-api.<region>.amazonaws.com/<stage>
    # on AWS, the local bridge under make run) and the URL clients connect to.
    websocket_endpoint: str = ""
    ws_url: str = ""
    api_url: str = ""
    # SNS platform application ARNs, per push platform ("" = not offered on this stage).
    push_applications: tuple[tuple[str, str], ...] = ()

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    def missing(self) -> list[str]:
        """What this stage lacks to run: prod takes real payments, through Stripe only."""
        if self.stage != "prod" and self.payment_provider != "stripe":
            return []
        if self.payment_provider != "stripe":
            return [f"PAYMENT_PROVIDER=stripe (it is {self.payment_provider!r}: the prod stage takes real payments)"]
        wanted = {
            "STRIPE_API_KEY_SECRET": (self.stripe_api_key_secret, "Stripe's secret API key (sk_live_...)"),
            "STRIPE_WEBHOOK_SECRET": (self.stripe_webhook_secret, "the webhook endpoint's signing secret (whsec_...)"),
        }
        return [
            f"{name}: the name or ARN of the Secrets Manager secret holding {what}"
            for name, (value, what) in wanted.items()
            if not value
        ]

    def require_complete(self) -> Settings:
        missing = self.missing()
        if missing:
            raise StageMisconfigured(
                f"The {self.stage} stage cannot start without Stripe configured; missing: " + "; ".join(missing)
            )
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        stage = env.get("CHOWLINE_STAGE", "dev")
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        prefix = f"chowline-{stage}"
        pool_id = env.get("USER_POOL_ID", "")
        endpoint = env.get("AWS_ENDPOINT_URL", "").rstrip("/")
        cognito_host = endpoint or f"https://cognito-idp.{region}.amazonaws.com"
        return cls(
            stage=stage,
            region=region,
            users_table=env.get("USERS_TABLE", f"{prefix}-users"),
            restaurants_table=env.get("RESTAURANTS_TABLE", f"{prefix}-restaurants"),
            products_table=env.get("PRODUCTS_TABLE", f"{prefix}-products"),
            orders_table=env.get("ORDERS_TABLE", f"{prefix}-orders"),
            notifications_table=env.get("NOTIFICATIONS_TABLE", f"{prefix}-notifications"),
            orders_queue_url=env.get("ORDERS_QUEUE_URL", ""),
            order_events_topic_arn=env.get("ORDER_EVENTS_TOPIC_ARN", ""),
            assets_bucket=env.get("ASSETS_BUCKET", f"{prefix}-assets"),
            assets_base_url=env.get("ASSETS_BASE_URL", "").rstrip("/"),
            user_pool_id=pool_id,
            user_pool_client_id=env.get("USER_POOL_CLIENT_ID", ""),
            verify_tokens=_flag(env.get("VERIFY_TOKENS")),
            jwks_url=env.get("JWKS_URL") or f"{cognito_host}/{pool_id}/.well-known/jwks.json",
            cursor_key=env.get("CURSOR_KEY", ""),
            payment_function_name=env.get("PAYMENT_FUNCTION_NAME", f"chowline-{stage}-payment"),
            invoke_payment_in_process=_flag(env.get("PAYMENT_IN_PROCESS")),
            catalog_cache_seconds=int(env.get("CATALOG_CACHE_SECONDS", "30")),
            endpoint_url=endpoint,
            image_upload_seconds=int(env.get("IMAGE_UPLOAD_SECONDS", "300")),
            payment_provider=env.get("PAYMENT_PROVIDER") or ("stripe" if stage == "prod" else "fake"),
            stripe_api_key_secret=env.get("STRIPE_API_KEY_SECRET", ""),
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", ""),
            stripe_api_base=env.get("STRIPE_API_BASE", "").rstrip("/"),
            payment_retry_base_seconds=int(env.get("PAYMENT_RETRY_BASE_SECONDS", "15")),
            payment_retry_cap_seconds=int(env.get("PAYMENT_RETRY_CAP_SECONDS", "180")),
            payment_retry_bound_seconds=int(env.get("PAYMENT_RETRY_BOUND_SECONDS", "900")),
            payment_action_seconds=int(env.get("PAYMENT_ACTION_SECONDS", "900")),
            serialize_writes=_flag(env.get("SERIALIZE_WRITES")),
            sweep_max_age_seconds=int(env.get("SWEEP_MAX_AGE_SECONDS", "86400")),
            web_api_key=env.get("WEB_API_KEY", ""),
            dax_endpoint=env.get("DAX_ENDPOINT", ""),
            post_confirmation_in_process=_flag(env.get("POST_CONFIRMATION_IN_PROCESS")),
            promo_codes_table=env.get("PROMO_CODES_TABLE", f"{prefix}-promo-codes"),
            connections_table=env.get("CONNECTIONS_TABLE", f"{prefix}-connections"),
            devices_table=env.get("DEVICES_TABLE", f"{prefix}-devices"),
            couriers_table=env.get("COURIERS_TABLE", f"{prefix}-couriers"),
            location_ttl_seconds=int(env.get("LOCATION_TTL_SECONDS", "900")),
            location_interval_seconds=int(env.get("LOCATION_INTERVAL_SECONDS", "5")),
            courier_speed_kmh=float(env.get("COURIER_SPEED_KMH", "20")),
            websocket_endpoint=env.get("WEBSOCKET_ENDPOINT", "").rstrip("/"),
            ws_url=env.get("WS_URL", ""),
            api_url=env.get("API_URL", "").rstrip("/"),
            push_applications=tuple((platform, env.get(push_variable(platform), "")) for platform in PUSH_PLATFORMS),
        )


def _payment_concurrency() -> int | None:
    """The payment function's reserved concurrency, as ``.chalice/config.json`` sizes it.

    The order processor's SQS maximum concurrency equals it, so payments are never
    throttled. The value matters where chalice packages or deploys the app and to the local
    pipeline, which both have the file; the Lambda zip does not, and there nothing reads it.
    """
    config = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
    if not config.is_file():
        return None
    return json.loads(config.read_text())["lambda_functions"]["payment"]["reserved_concurrency"]


PAYMENT_CONCURRENCY = _payment_concurrency()


def push_variable(platform: str) -> str:
    """The environment variable holding a push platform's SNS application ARN."""
    return f"PUSH_{platform.upper()}_ARN"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env().require_complete()

"""The composition root: the one place that builds adapters and services from settings.

Everything is built on first use and kept for the life of the container, so importing
``app`` creates no AWS client and each function pays only for what it uses.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.settings import Settings

if TYPE_CHECKING:  # each property imports what it builds: a function loads only its own adapters
    from chalicelib.adapters.aws import AwsClients
    from chalicelib.adapters.cache import TtlCache
    from chalicelib.adapters.couriers_repo import CouriersRepository
    from chalicelib.adapters.dax import DaxClients
    from chalicelib.adapters.devices_repo import DevicesRepository
    from chalicelib.adapters.dynamo import CursorCodec
    from chalicelib.adapters.identity import CognitoIdentity
    from chalicelib.adapters.metrics import Metrics
    from chalicelib.adapters.orders_repo import OrdersRepository
    from chalicelib.adapters.owners import RestaurantOwners
    from chalicelib.adapters.payment_provider import PaymentProvider
    from chalicelib.adapters.payments import PaymentGateway
    from chalicelib.adapters.push import MobilePush
    from chalicelib.adapters.queue import OrdersQueue
    from chalicelib.adapters.users_repo import UsersRepository
    from chalicelib.entry.auth import Verifier
    from chalicelib.services.accounts import AccountsService
    from chalicelib.services.assets import AssetsService
    from chalicelib.services.catalog import CatalogService
    from chalicelib.services.devices import DevicesService, PushService
    from chalicelib.services.dispatch import DispatchService
    from chalicelib.services.live import LiveService
    from chalicelib.services.notifications import NotificationsService
    from chalicelib.services.orders import OrderProcessor, OrdersService
    from chalicelib.services.payment_events import PaymentEventsService
    from chalicelib.services.payments import PaymentsService
    from chalicelib.services.promos import PromoCodesService
    from chalicelib.services.readiness import ReadinessService
    from chalicelib.services.signup import SignUpCompletion


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def clients(self) -> AwsClients:
        from chalicelib.adapters.aws import AwsClients

        s = self.settings
        return AwsClients(
            s.region,
            emulator=bool(s.endpoint_url),
            endpoints={"apigatewaymanagementapi": s.websocket_endpoint},
        )

    @cached_property
    def cursors(self) -> CursorCodec:
        from chalicelib.adapters.dynamo import CursorCodec

        return CursorCodec(self.settings.cursor_key)

    @cached_property
    def token_verifier(self) -> Verifier | None:
        if not self.settings.verify_tokens:
            return None
        from chalicelib.adapters.token_verifier import AUTHORIZER_RESULT_TTL_SECONDS, CognitoTokenVerifier

        verifier = CognitoTokenVerifier(
            jwks_url=self.settings.jwks_url,
            issuer=self.settings.issuer,
            audience=self.settings.user_pool_client_id,
            result_ttl_seconds=AUTHORIZER_RESULT_TTL_SECONDS,  # as the authorizer it stands in for
        )
        return verifier.verify

    @cached_property
    def identity(self) -> CognitoIdentity:
        from chalicelib.adapters.identity import CognitoIdentity

        s = self.settings
        return CognitoIdentity(self.clients, s.user_pool_id, s.user_pool_client_id)

    @cached_property
    def users(self) -> UsersRepository:
        from chalicelib.adapters.users_repo import UsersRepository

        return UsersRepository(self.clients, self.settings.users_table)

    @cached_property
    def accounts(self) -> AccountsService:
        from chalicelib.services.accounts import AccountsService

        return AccountsService(
            self.identity,
            self.users,
            self.orders_repo,
            devices=self.devices,
            after_confirm=self._local_post_confirmation if self.settings.post_confirmation_in_process else None,
            couriers=self.couriers_repo,
        )

    @cached_property
    def sign_up_completion(self) -> SignUpCompletion:
        """What the Cognito post-confirmation trigger runs."""
        from chalicelib.services.signup import SignUpCompletion

        return SignUpCompletion(self.identity, self.users)

    def _local_post_confirmation(self, email: str) -> None:
        """The emulator fires no Cognito triggers: after ConfirmSignUp the local stack runs
        the trigger's own handler on the event Cognito would send."""
        from chalicelib.services.signup import confirmation_event

        attributes = self.identity.attributes(email)
        event = confirmation_event(self.settings.user_pool_id, attributes["sub"], attributes)
        self.sign_up_completion.handle(event)

    # --- catalog ---------------------------------------------------------------------

    @cached_property
    def catalog_cache(self) -> TtlCache:
        from chalicelib.adapters.cache import TtlCache

        return TtlCache(self.settings.catalog_cache_seconds)

    @cached_property
    def catalog_reads(self) -> AwsClients | DaxClients:
        """Catalog reads: through the DAX cluster when the stack has one, else DynamoDB."""
        s = self.settings
        if not s.dax_endpoint:
            return self.clients
        from chalicelib.adapters.dax import DaxClients

        return DaxClients(s.dax_endpoint, s.region, self.clients)

    @cached_property
    def catalog(self) -> CatalogService:
        from chalicelib.adapters.catalog_repo import ProductsRepository, RestaurantsRepository
        from chalicelib.services.catalog import CatalogService

        s = self.settings
        return CatalogService(
            RestaurantsRepository(self.clients, self.cursors, s.restaurants_table, s.users_table, self.catalog_reads),
            ProductsRepository(self.clients, self.cursors, s.products_table, s.users_table, self.catalog_reads),
            lambda: self.identity,
            self.catalog_cache,
        )

    @cached_property
    def assets(self) -> AssetsService:
        from chalicelib.adapters.storage import AssetStorage
        from chalicelib.services.assets import AssetsService

        s = self.settings
        storage = AssetStorage(s.assets_bucket, s.region)
        return AssetsService(self.catalog, storage, s.assets_url, s.image_upload_seconds)

    # --- orders ----------------------------------------------------------------------

    @cached_property
    def orders_repo(self) -> OrdersRepository:
        from chalicelib.adapters.orders_repo import OrdersRepository

        s = self.settings
        return OrdersRepository(
            self.clients,
            self.cursors,
            orders_table=s.orders_table,
            products_table=s.products_table,
            restaurants_table=s.restaurants_table,
            users_table=s.users_table,
            promo_codes_table=s.promo_codes_table,
            serialize_writes=s.serialize_writes,
        )

    @cached_property
    def promo_codes(self) -> PromoCodesService:
        from chalicelib.adapters.promo_codes_repo import PromoCodesRepository
        from chalicelib.services.promos import PromoCodesService

        return PromoCodesService(PromoCodesRepository(self.clients, self.cursors, self.settings.promo_codes_table))

    @cached_property
    def orders_queue(self) -> OrdersQueue:
        from chalicelib.adapters.queue import OrdersQueue

        return OrdersQueue(self.clients, self.settings.orders_queue_url)

    @cached_property
    def payment_provider(self) -> PaymentProvider:
        s = self.settings
        if s.payment_provider == "stripe":
            from chalicelib.adapters.secrets import Secret
            from chalicelib.adapters.stripe_provider import StripeProvider

            return StripeProvider(Secret(self.clients, s.stripe_api_key_secret).value, api_base=s.stripe_api_base)
        from chalicelib.adapters.payment_provider import provider_for

        return provider_for(s.payment_provider)

    @cached_property
    def payments(self) -> PaymentsService:
        from chalicelib.services.payments import PaymentsService

        return PaymentsService(self.payment_provider)

    @cached_property
    def payment_gateway(self) -> PaymentGateway:
        from chalicelib.adapters.payments import PaymentGateway

        s = self.settings
        in_process = (lambda event: self.payments.handle(event)) if s.invoke_payment_in_process else None
        return PaymentGateway(self.clients, s.payment_function_name, in_process)

    @cached_property
    def orders(self) -> OrdersService:
        from chalicelib.services.orders import OrdersService

        return OrdersService(
            self.orders_repo,
            self.orders_queue,
            self.payment_gateway,
            self.metrics,
            sweep_max_age=timedelta(seconds=self.settings.sweep_max_age_seconds),
        )

    @cached_property
    def order_processor(self) -> OrderProcessor:
        from chalicelib.domain.payments import PaymentRetry
        from chalicelib.services.orders import OrderProcessor

        s = self.settings
        retry = PaymentRetry(
            base=timedelta(seconds=s.payment_retry_base_seconds),
            cap=timedelta(seconds=s.payment_retry_cap_seconds),
            bound=timedelta(seconds=s.payment_retry_bound_seconds),
            action_window=timedelta(seconds=s.payment_action_seconds),
        )
        return OrderProcessor(
            self.orders_repo, self.payment_gateway, self.metrics, queue=self.orders_queue, retry=retry
        )

    @cached_property
    def payment_events(self) -> PaymentEventsService:
        """The webhook's: the signing secret is read on the first event (cached after)."""
        from chalicelib.adapters.secrets import Secret
        from chalicelib.adapters.stripe_webhooks import verified_event
        from chalicelib.services.payment_events import PaymentEventsService

        s = self.settings
        secret = Secret(self.clients, s.stripe_webhook_secret).value if s.stripe_webhook_secret else None
        return PaymentEventsService(verified_event, secret, self.orders_repo, self.orders_queue)

    @cached_property
    def notifications(self) -> NotificationsService:
        from chalicelib.adapters.notifications_repo import NotificationsRepository
        from chalicelib.adapters.topic import OrderEventsTopic
        from chalicelib.services.notifications import NotificationsService

        s = self.settings
        return NotificationsService(
            NotificationsRepository(self.clients, self.cursors, s.notifications_table),
            OrderEventsTopic(self.clients, s.order_events_topic_arn),
            live_channel=self.live,
            push=self.push,
            owner_of=self.restaurant_owner,
            on_shift=self.couriers_repo.available,
        )

    # --- dispatch --------------------------------------------------------------------

    @cached_property
    def couriers_repo(self) -> CouriersRepository:
        from chalicelib.adapters.couriers_repo import CouriersRepository

        return CouriersRepository(self.clients, self.settings.couriers_table, self.settings.users_table)

    @cached_property
    def dispatch(self) -> DispatchService:
        from chalicelib.services.dispatch import DispatchService

        s = self.settings
        return DispatchService(
            self.couriers_repo,
            self.orders_repo,
            location_ttl_seconds=s.location_ttl_seconds,
            location_interval_seconds=s.location_interval_seconds,
            speed_kmh=s.courier_speed_kmh,
            pickups=self.catalog_cache,
        )

    # --- operations ------------------------------------------------------------------

    @cached_property
    def readiness(self) -> ReadinessService:
        from chalicelib import __version__
        from chalicelib.adapters.aws import AwsClients
        from chalicelib.adapters.probes import PROBE_LIMITS, QueueProbe, TableProbe
        from chalicelib.services.readiness import ReadinessService

        s = self.settings
        probes = AwsClients(s.region, limits=PROBE_LIMITS)
        return ReadinessService(
            {
                "users": TableProbe(probes, s.users_table, "user_id"),
                "restaurants": TableProbe(probes, s.restaurants_table, "restaurant_id"),
                "products": TableProbe(probes, s.products_table, "product_id"),
                "orders": TableProbe(probes, s.orders_table, "order_id"),
                "notifications": TableProbe(probes, s.notifications_table, "user_id", "sent_at"),
                "promo codes": TableProbe(probes, s.promo_codes_table, "code", "scope"),
                "orders queue": QueueProbe(probes, s.orders_queue_url),
            },
            version=__version__,
        )

    # --- live updates and devices ------------------------------------------------------

    @cached_property
    def restaurant_owners(self) -> RestaurantOwners:
        from chalicelib.adapters.owners import RestaurantOwners

        return RestaurantOwners(self.clients, self.settings.restaurants_table)

    def restaurant_owner(self, restaurant_id: str) -> str | None:
        """Owners rarely change: looked up once per catalog cache period."""
        owners = self.restaurant_owners
        return self.catalog_cache.get_or_load(("owner", restaurant_id), lambda: owners.owner_of(restaurant_id))

    @cached_property
    def live(self) -> LiveService:
        from chalicelib.adapters.connections_repo import ConnectionsRepository
        from chalicelib.adapters.sockets import SocketPoster
        from chalicelib.services.live import LiveService

        s = self.settings
        return LiveService(
            ConnectionsRepository(self.clients, s.connections_table),
            SocketPoster(self.clients, configured=bool(s.websocket_endpoint)),
            lambda: self.socket_verifier,
        )

    @cached_property
    def socket_verifier(self) -> Verifier:
        """A WebSocket API has no Cognito authorizer: the connect handler always verifies,
        on AWS too. Imported here, so only the WebSocket functions load PyJWT."""
        from chalicelib.adapters.token_verifier import CognitoTokenVerifier

        s = self.settings
        return CognitoTokenVerifier(jwks_url=s.jwks_url, issuer=s.issuer, audience=s.user_pool_client_id).verify

    @cached_property
    def mobile_push(self) -> MobilePush:
        from chalicelib.adapters.push import MobilePush

        return MobilePush(self.clients, dict(self.settings.push_applications))

    @cached_property
    def devices_repo(self) -> DevicesRepository:
        from chalicelib.adapters.devices_repo import DevicesRepository

        return DevicesRepository(self.clients, self.settings.devices_table)

    @cached_property
    def push(self) -> PushService:
        from chalicelib.services.devices import PushService

        return PushService(self.devices_repo, self.mobile_push)

    @cached_property
    def devices(self) -> DevicesService:
        from chalicelib.services.devices import DevicesService

        return DevicesService(self.devices_repo, self.mobile_push)

    # --- observability ---------------------------------------------------------------

    @cached_property
    def metrics(self) -> Metrics:
        from chalicelib.adapters.metrics import Metrics

        return Metrics(stage=self.settings.stage)


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container(Settings.from_env().require_complete())
    return _container


def reset(settings: Settings | None = None) -> Container:
    """Drops every cached adapter (tests and the local stack re-point the app with this)."""
    global _container
    _container = Container(settings or Settings.from_env().require_complete())
    return _container

"""Account use cases: sign-up, confirmation, login, refresh, password reset, TOTP MFA,
sign-out, deletion and the caller's profile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.adapters.identity import CognitoIdentity, Tokens
from chalicelib.adapters.orders_repo import OrdersRepository
from chalicelib.adapters.users_repo import UsersRepository
from chalicelib.domain import accounts as model
from chalicelib.domain.clock import utc_now_text
from chalicelib.domain.errors import Conflict, Unauthorized
from chalicelib.domain.principal import COURIERS, Principal


class UserDevices(Protocol):
    """A user's push devices (the Devices table): deleted with the account."""

    def delete_all(self, user_id: str) -> None: ...


class CourierRecords(Protocol):
    """A courier's shift and last position (the Couriers table): deleted with the account."""

    def forget(self, courier_id: str) -> None: ...


class AccountsService:
    def __init__(
        self,
        identity: CognitoIdentity,
        users: UsersRepository,
        orders: OrdersRepository,
        devices: UserDevices | None = None,
        after_confirm: Callable[[str], None] | None = None,
        couriers: CourierRecords | None = None,
    ) -> None:
        self._identity = identity
        self._users = users
        self._orders = orders
        self._devices = devices
        # Locally only: what Cognito's post-confirmation trigger does on AWS (the emulator
        # fires no triggers). Given the confirmed email.
        self._after_confirm = after_confirm
        self._couriers = couriers

    def sign_up(self, cmd: model.SignUp) -> model.SignUpResult:
        """The group and the profile come from the post-confirmation step (services/signup.py)."""
        attributes = {"name": cmd.name, "phone_number": cmd.phone or ""}
        user_id, confirmation_required = self._identity.sign_up(cmd.email, cmd.password, attributes)
        return model.SignUpResult(user_id=user_id, email=cmd.email, confirmation_required=confirmation_required)

    def confirm(self, cmd: model.Confirm) -> None:
        self._identity.confirm(cmd.email, cmd.code)
        if self._after_confirm:
            self._after_confirm(cmd.email)

    def forgot_password(self, cmd: model.ForgotPassword) -> model.Accepted:
        self._identity.forgot_password(cmd.email)
        return model.Accepted()

    def reset_password(self, cmd: model.ResetPassword) -> None:
        self._identity.reset_password(cmd.email, cmd.code, cmd.password)

    def answer_mfa(self, cmd: model.MfaAnswer) -> model.TokensOut:
        return _tokens(self._identity.answer_mfa(cmd.email, cmd.session, cmd.code))

    def start_mfa(self, principal: Principal, cmd: model.AccessTokenBody) -> model.MfaEnrolment:
        secret = self._identity.start_totp(_own_access_token(principal, cmd.access_token))
        return model.MfaEnrolment(secret=secret, otpauth_uri=model.otpauth_uri(secret, principal.email))

    def verify_mfa(self, principal: Principal, cmd: model.MfaVerify) -> None:
        self._identity.verify_totp(_own_access_token(principal, cmd.access_token), cmd.code)

    def disable_mfa(self, principal: Principal) -> None:
        self._identity.disable_totp(principal.pool_username)

    def sign_out(self, principal: Principal, cmd: model.AccessTokenBody) -> None:
        self._identity.sign_out_everywhere(_own_access_token(principal, cmd.access_token))

    def delete_account(self, principal: Principal) -> None:
        """Refused while an order is in flight. Otherwise the Cognito user goes first (no
        new sign-in), then the profile and devices, then each past order loses the person's
        data; a retry after a partial failure finishes the job."""
        orders = self._orders.customer_orders(principal.user_id)
        in_flight = [order for order in orders if not order.is_final]
        if COURIERS in principal.roles:
            in_flight += self._orders.claimed_by(principal.user_id)  # deliveries they claimed
        if in_flight:
            raise Conflict(
                f"{len(in_flight)} order(s) still in flight (for example {in_flight[0].order_id}): "
                "the account can be deleted once they are delivered, failed, rejected or cancelled"
            )
        self._identity.delete_user(principal.pool_username)
        self._users.delete(principal.user_id)
        if self._devices is not None:
            self._devices.delete_all(principal.user_id)
        if self._couriers is not None and COURIERS in principal.roles:
            self._couriers.forget(principal.user_id)  # their shift and last position
        for order in orders:
            self._orders.redact(order, principal.user_id)

    def login(self, cmd: model.Login) -> model.TokensOut | model.ChallengeOut:
        result = self._identity.login(cmd.email, cmd.password)
        if isinstance(result, Tokens):
            return _tokens(result)
        return model.ChallengeOut(challenge=result.challenge, session=result.session)

    def refresh(self, cmd: model.Refresh) -> model.RefreshedTokens:
        tokens = self._identity.refresh(cmd.refresh_token)
        return model.RefreshedTokens(
            id_token=tokens.id_token, access_token=tokens.access_token, expires_in=tokens.expires_in
        )

    def profile(self, principal: Principal) -> model.Profile:
        item = self._users.get(principal.user_id) or {"user_id": principal.user_id, "email": principal.email}
        return _profile(item, principal)

    def update_profile(self, principal: Principal, cmd: model.ProfileUpdate) -> model.Profile:
        changes = cmd.model_dump(exclude_unset=True, exclude_none=True)
        defaults = {"email": principal.email, "created_at": utc_now_text()}
        item = self._users.update(principal.user_id, changes, defaults)
        return _profile(item, principal)


def _own_access_token(principal: Principal, access_token: str) -> str:
    """The access token of the body must be the caller's own."""
    if model.token_subject(access_token) != principal.user_id:
        raise Unauthorized("The access token is not a valid token of the signed-in user")
    return access_token


def _tokens(tokens: Tokens) -> model.TokensOut:
    return model.TokensOut(
        id_token=tokens.id_token,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


def _profile(item: dict[str, Any], principal: Principal) -> model.Profile:
    return model.Profile(
        user_id=principal.user_id,
        email=item.get("email") or principal.email,
        name=item.get("name"),
        phone=item.get("phone"),
        roles=sorted(principal.roles),
        addresses=item.get("addresses", []),
    )

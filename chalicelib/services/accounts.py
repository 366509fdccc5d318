"""Account use cases: sign-up, confirmation, login, refresh and the caller's profile."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.identity import CognitoIdentity, Tokens
from chalicelib.adapters.users_repo import UsersRepository
from chalicelib.domain import accounts as model
from chalicelib.domain.clock import utc_now_text
from chalicelib.domain.principal import Principal


class AccountsService:
    def __init__(self, identity: CognitoIdentity, users: UsersRepository) -> None:
        self._identity = identity
        self._users = users

    def sign_up(self, cmd: model.SignUp) -> model.SignUpResult:
        attributes = {"name": cmd.name, "phone_number": cmd.phone or ""}
        user_id, confirmation_required = self._identity.sign_up(cmd.email, cmd.password, attributes)
        self._identity.add_to_group(cmd.email, model.CUSTOMERS)
        self._users.put(
            {"user_id": user_id, "email": cmd.email, "name": cmd.name, "phone": cmd.phone, "created_at": utc_now_text()}
        )
        return model.SignUpResult(user_id=user_id, email=cmd.email, confirmation_required=confirmation_required)

    def confirm(self, cmd: model.Confirm) -> None:
        self._identity.confirm(cmd.email, cmd.code)

    def login(self, cmd: model.Login) -> model.TokensOut | model.ChallengeOut:
        result = self._identity.login(cmd.email, cmd.password)
        if isinstance(result, Tokens):
            return _tokens(result)
        return model.ChallengeOut(challenge=result.challenge, session=result.session)

    def refresh(self, cmd: model.Refresh) -> model.TokensOut:
        return _tokens(self._identity.refresh(cmd.refresh_token))

    def profile(self, principal: Principal) -> model.Profile:
        item = self._users.get(principal.user_id) or {"user_id": principal.user_id, "email": principal.email}
        return _profile(item, principal)

    def update_profile(self, principal: Principal, cmd: model.ProfileUpdate) -> model.Profile:
        changes = cmd.model_dump(exclude_unset=True, exclude_none=True)
        defaults = {"email": principal.email, "created_at": utc_now_text()}
        item = self._users.update(principal.user_id, changes, defaults)
        return _profile(item, principal)


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

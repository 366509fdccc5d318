"""Cognito user pool: sign-up, confirmation, login, refresh and group membership."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.aws import AwsClients, error_code, is_transient, unavailable
from chalicelib.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    expires_in: int
    refresh_token: str | None = None


@dataclass(frozen=True)
class Challenge:
    challenge: str
    session: str


class CognitoIdentity:
    def __init__(self, clients: AwsClients, user_pool_id: str, client_id: str) -> None:
        self._clients = clients
        self._pool = user_pool_id
        self._client_id = client_id

    @property
    def _idp(self) -> Any:
        return self._clients.get("cognito-idp")

    def sign_up(self, email: str, password: str, attributes: dict[str, str]) -> tuple[str, bool]:
        attrs = [{"Name": "email", "Value": email}] + [{"Name": k, "Value": v} for k, v in attributes.items() if v]
        try:
            out = self._idp.sign_up(ClientId=self._client_id, Username=email, Password=password, UserAttributes=attrs)
        except Exception as exc:
            raise self._problem(exc, "sign-up") from exc
        return out["UserSub"], not out.get("UserConfirmed", False)

    def add_to_group(self, username: str, group: str) -> None:
        try:
            self._idp.admin_add_user_to_group(UserPoolId=self._pool, Username=username, GroupName=group)
        except Exception as exc:
            raise self._problem(exc, "group membership") from exc

    def confirm(self, email: str, code: str) -> None:
        try:
            self._idp.confirm_sign_up(ClientId=self._client_id, Username=email, ConfirmationCode=code)
        except Exception as exc:
            raise self._problem(exc, "confirmation") from exc

    def login(self, email: str, password: str) -> Tokens | Challenge:
        try:
            out = self._idp.initiate_auth(
                ClientId=self._client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except Exception as exc:
            raise self._problem(exc, "login") from exc
        return self._tokens_or_challenge(out)

    def refresh(self, refresh_token: str) -> Tokens:
        try:
            out = self._idp.initiate_auth(
                ClientId=self._client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        except Exception as exc:
            raise self._problem(exc, "refresh") from exc
        result = self._tokens_or_challenge(out)
        if not isinstance(result, Tokens):
            raise Unauthorized("The refresh token cannot be used without a new login")
        return result

    def _tokens_or_challenge(self, out: dict[str, Any]) -> Tokens | Challenge:
        if "ChallengeName" in out:
            return Challenge(challenge=out["ChallengeName"], session=out.get("Session", ""))
        auth = out["AuthenticationResult"]
        return Tokens(
            id_token=auth["IdToken"],
            access_token=auth["AccessToken"],
            expires_in=int(auth.get("ExpiresIn", 3600)),
            refresh_token=auth.get("RefreshToken"),
        )

    @staticmethod
    def _problem(exc: Exception, what: str) -> Exception:
        code = error_code(exc)
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")) or code
        if code == "UsernameExistsException":
            return Conflict("An account with this email already exists")
        if code == "InvalidPasswordException":
            return ValidationFailed("The password does not meet the policy", [FieldError("password", message)])
        if code == "InvalidParameterException":
            return ValidationFailed(f"Cognito rejected the {what} request", [FieldError("body", message)])
        if code in {"CodeMismatchException", "ExpiredCodeException"}:
            return ValidationFailed("The confirmation code is wrong or expired", [FieldError("code", message)])
        if code == "NotAuthorizedException":
            return Unauthorized("Wrong email or password" if what == "login" else message)
        if code == "UserNotConfirmedException":
            return Forbidden("The account is not confirmed yet: POST /auth/confirm with the emailed code")
        if code in {"UserNotFoundException", "ResourceNotFoundException"}:
            if what == "login":
                return Unauthorized("Wrong email or password")
            return NotFound("No such account")
        if code in {"TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException"}:
            return TooManyRequests("Too many attempts; wait a moment and retry")
        if is_transient(exc):
            return unavailable(exc, "The identity service")
        return exc

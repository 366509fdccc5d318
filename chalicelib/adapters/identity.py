"""Cognito user pool: sign-up, confirmation, login, refresh, password reset, TOTP MFA,
sign-out, deletion and group membership."""

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

WRONG_CODE = "the code is wrong or expired"
ACCOUNT_SPECIFIC = frozenset(
    {
        "UserNotFoundException",
        "ResourceNotFoundException",
        "InvalidParameterException",
        "NotAuthorizedException",
        "UserNotConfirmedException",
        "LimitExceededException",
    }
)
# VerifySoftwareToken reports a wrong first code as EnableSoftwareTokenMFAException.
WRONG_CODE_ERRORS = frozenset({"CodeMismatchException", "ExpiredCodeException", "EnableSoftwareTokenMFAException"})


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

    def add_to_group(self, username: str, group: str, pool_id: str = "") -> None:
        """Idempotent: a member already is one. ``pool_id``: the pool of a trigger's event."""
        try:
            self._idp.admin_add_user_to_group(UserPoolId=pool_id or self._pool, Username=username, GroupName=group)
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

    def forgot_password(self, email: str) -> None:
        """Sends a reset code. What only an existing account can cause (unknown, unverified,
        disabled, over its own code limit) is answered as a success: no account enumeration."""
        try:
            self._idp.forgot_password(ClientId=self._client_id, Username=email)
        except Exception as exc:
            if error_code(exc) in ACCOUNT_SPECIFIC:
                return
            raise self._problem(exc, "password reset") from exc

    def reset_password(self, email: str, code: str, password: str) -> None:
        try:
            self._idp.confirm_forgot_password(
                ClientId=self._client_id, Username=email, ConfirmationCode=code, Password=password
            )
        except Exception as exc:
            raise self._problem(exc, "password reset") from exc

    def answer_mfa(self, email: str, session: str, code: str) -> Tokens:
        try:
            out = self._idp.respond_to_auth_challenge(
                ClientId=self._client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=session,
                ChallengeResponses={"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": code},
            )
        except Exception as exc:
            raise self._problem(exc, "mfa") from exc
        result = self._tokens_or_challenge(out)
        if not isinstance(result, Tokens):
            raise Unauthorized("The sign-in needs another step this API does not offer")
        return result

    def start_totp(self, access_token: str) -> str:
        """The shared secret of a new TOTP device (Base32)."""
        try:
            return str(self._idp.associate_software_token(AccessToken=access_token)["SecretCode"])
        except Exception as exc:
            raise self._problem(exc, "access") from exc

    def verify_totp(self, access_token: str, code: str) -> None:
        """Checks the first code of the new device, then makes TOTP this user's MFA."""
        try:
            out = self._idp.verify_software_token(AccessToken=access_token, UserCode=code)
            if out.get("Status", "SUCCESS") != "SUCCESS":
                raise ValidationFailed("The code is wrong", [FieldError("code", "the code does not match")])
            self._idp.set_user_mfa_preference(
                AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
            )
        except ValidationFailed:
            raise
        except Exception as exc:
            raise self._problem(exc, "mfa enrolment") from exc

    def disable_totp(self, username: str) -> None:
        try:
            self._idp.admin_set_user_mfa_preference(
                UserPoolId=self._pool,
                Username=username,
                SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False},
            )
        except Exception as exc:
            raise self._problem(exc, "mfa") from exc

    def sign_out_everywhere(self, access_token: str) -> None:
        """Every refresh token of the user stops working (GlobalSignOut)."""
        try:
            self._idp.global_sign_out(AccessToken=access_token)
        except Exception as exc:
            raise self._problem(exc, "access") from exc

    def delete_user(self, username: str) -> None:
        """Deletes the account; an account already gone counts as deleted (a retry)."""
        try:
            self._idp.admin_delete_user(UserPoolId=self._pool, Username=username)
        except Exception as exc:
            if error_code(exc) == "UserNotFoundException":
                return
            raise self._problem(exc, "account deletion") from exc

    def attributes(self, username: str) -> dict[str, str]:
        """The user's attributes (``sub``, ``email``, ``name``...): what a post-confirmation
        event carries, for the local stack, where the emulator sends none."""
        try:
            out = self._idp.admin_get_user(UserPoolId=self._pool, Username=username)
        except Exception as exc:
            raise self._problem(exc, "account") from exc
        return {a["Name"]: a["Value"] for a in out.get("UserAttributes", [])}

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
        if code in WRONG_CODE_ERRORS or (what in {"confirmation", "password reset"} and code in ACCOUNT_SPECIFIC):
            # What only the account's state can cause (unknown, already confirmed, no verified
            # email) is answered as a wrong code: no account enumeration.
            if what == "mfa":
                return Unauthorized("The code or the session is wrong or expired: sign in again")
            return ValidationFailed("The code is wrong or expired", [FieldError("code", WRONG_CODE)])
        if code == "InvalidParameterException":
            return ValidationFailed(f"Cognito rejected the {what} request", [FieldError("body", message)])
        if what == "mfa" and code in {
            "CodeMismatchException",
            "ExpiredCodeException",
            "NotAuthorizedException",
            "ResourceNotFoundException",
            "UserNotFoundException",
        }:
            return Unauthorized("The code or the session is wrong or expired: sign in again")
        if code == "NotAuthorizedException":
            if what in {"access", "mfa enrolment"}:
                return Unauthorized("The access token is invalid, expired or signed out")
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

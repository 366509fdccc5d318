"""The post-confirmation step every way of signing up ends in (this API, the hosted UI,
Google, Apple): the user joins ``customers`` and gets a profile. Idempotent: Cognito may
deliver the trigger more than once."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.identity import CognitoIdentity
from chalicelib.adapters.users_repo import UsersRepository
from chalicelib.domain import accounts as model
from chalicelib.domain.clock import utc_now_text
from chalicelib.domain.principal import CUSTOMERS

# Cognito fires the post-confirmation trigger after a password reset too: nothing to do then.
SIGN_UP_SOURCES = frozenset({"PostConfirmation_ConfirmSignUp"})


class SignUpCompletion:
    def __init__(self, identity: CognitoIdentity, users: UsersRepository) -> None:
        self._identity = identity
        self._users = users

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """A Cognito PostConfirmation event; Cognito expects the event back."""
        if event.get("triggerSource") in SIGN_UP_SOURCES:
            attributes = {str(k): str(v) for k, v in (event.get("request", {}).get("userAttributes") or {}).items()}
            self.complete(str(event["userPoolId"]), str(event["userName"]), attributes)
        return event

    def complete(self, pool_id: str, username: str, attributes: dict[str, str]) -> None:
        # The pool comes from the event: the trigger is created before the pool, so its
        # environment cannot name it.
        self._identity.add_to_group(username, CUSTOMERS, pool_id)
        profile = model.new_profile(attributes["sub"], attributes, utc_now_text())
        user_id = profile.pop("user_id")
        # Every field only where absent: a repeated trigger changes nothing, and a profile
        # edited in between keeps its edits.
        self._users.update(user_id, {}, profile, create=True)


def confirmation_event(user_pool_id: str, username: str, attributes: dict[str, str]) -> dict[str, Any]:
    """The event Cognito sends after ConfirmSignUp (the local stack builds it itself)."""
    return {
        "version": "1",
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "userPoolId": user_pool_id,
        "userName": username,
        "callerContext": {"awsSdkVersion": "local", "clientId": ""},
        "request": {"userAttributes": attributes},
        "response": {},
    }

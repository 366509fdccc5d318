"""Who is calling: the verified identity behind a request, and what it may do."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.errors import Unauthorized

# The roles a user can hold: the user pool's groups, carried in the token's cognito:groups.
CUSTOMERS = "customers"
RESTAURANT_OWNERS = "restaurant_owners"
COURIERS = "couriers"
ADMINS = "admins"
# Who moves an order along after its confirmation.
ROLES_THAT_MOVE = frozenset({RESTAURANT_OWNERS, COURIERS, ADMINS})


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    # Cognito's username (``cognito:username``): the sub for email sign-ups, ``Google_...``
    # for federated ones; what the pool's admin calls take.
    username: str = ""

    @property
    def pool_username(self) -> str:
        return self.username or self.user_id

    def has_any(self, roles: frozenset[str] | set[str]) -> bool:
        return bool(self.roles & roles)

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.roles


def require_account(exists: bool) -> None:
    """A token outlives its account (it stays valid until it expires): writes on behalf of
    a user whose profile is gone are refused as unauthenticated."""
    if not exists:
        raise Unauthorized("This account no longer exists")

"""Whether a user still has a profile, asked of the users table by the other repositories'
reads (a module of its own: those repositories' functions never write the users table)."""

from __future__ import annotations

from typing import Any


def profile_probe(user_id: str) -> dict[str, Any]:
    """A BatchGetItem request for whether ``user_id`` has a profile, to ride along with the
    read a write makes anyway: the key only, eventually consistent (half a read unit; a
    profile deleted a second ago may still be seen)."""
    return {"Keys": [{"user_id": {"S": user_id}}], "ProjectionExpression": "user_id"}

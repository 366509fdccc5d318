"""schemathesis hooks for tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def map_query(ctx: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    # A cursor is issued and signed by the server: a generated one is tampered by
    # definition and rightly 400 (tests/test_catalog.py and tests/test_orders.py prove it).
    if query and "cursor" in query:
        return {k: v for k, v in query.items() if k != "cursor"}
    return query

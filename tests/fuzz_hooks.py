"""schemathesis hooks for tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    # A cursor is issued and signed by the server: a generated one is tampered by
    # definition and rightly 400 (tests/test_catalog.py and tests/test_orders.py prove it).
    if case.query and "cursor" in case.query:
        case.query = {k: v for k, v in case.query.items() if k != "cursor"}
    return case

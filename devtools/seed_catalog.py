"""Demo restaurants and menus (filled in by the catalog work)."""

from __future__ import annotations


def seed_catalog(env: dict[str, str]) -> None:
    return None

"""List pages: every list takes ``limit`` and an opaque ``cursor`` and returns one page."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.domain.base import DEFERRED

Cursor = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class ListQuery(BaseModel):
    """Query parameters shared by every list; subclass to add filters."""

    model_config = ConfigDict(DEFERRED, extra="forbid", str_strip_whitespace=True, frozen=True)

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Cursor | None = None


class Page(BaseModel):
    """A list's page: each list's page model adds ``items: list[<its item>]``. Not a generic
    model: parametrizing one builds its validator at import, which pulls pydantic's plugin
    loader (and importlib.metadata, ~20 ms) into every cold start."""

    model_config = DEFERRED

    next_cursor: str | None = None


def page_of(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}

"""What the operations routes answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Readiness(BaseModel):
    """Every store the API uses answered its probe just now (or a few seconds ago)."""

    status: Literal["ready"]
    version: str
    checks: dict[str, Literal["ok"]] = Field(description="Each store the API uses, by name")

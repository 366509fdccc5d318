"""What the operations routes answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Readiness(BaseModel):
    """Every store the API uses answered its probe just now (or a few seconds ago)."""

    model_config = ConfigDict(defer_build=True)  # built on the first /ready, not on import

    status: Literal["ready"]
    version: str
    checks: dict[str, Literal["ok"]] = Field(description="Each store the API uses, by name")

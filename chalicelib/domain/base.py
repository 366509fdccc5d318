"""The base of every request model: strict types, no unknown fields, and a JSON Schema
that says exactly what the model accepts (the published contract is generated from it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.json_schema import SkipJsonSchema


def _whole(value: Any) -> Any:
    # JSON does not tell 1 from 1.0; JSON Schema's "integer" accepts both.
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = BeforeValidator(_whole)
"""Last in an ``Annotated[int, Field(...), WholeNumber]``: integral floats such as ``2.0`` count
as integers (placed before ``Field`` it hides the bounds from the JSON Schema)."""

Omitted = SkipJsonSchema[None]
"""``field: T | Omitted = None``: the field may be left out but not sent as ``null``
(the model refuses an explicit null; the schema does not offer it)."""


def request_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """An ``Omitted`` field's ``null`` default is not a value a client may send: keep it
    out of the schema. Models that need at least one field set ``min_properties``."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and "anyOf" not in prop:
            del prop["default"]
    minimum = getattr(model, "min_properties", 0)
    if minimum:
        schema["minProperties"] = minimum


class RequestModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, str_strip_whitespace=True, frozen=True, json_schema_extra=request_schema
    )


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Health(ResponseModel):
    status: Literal["ok"]
    version: str

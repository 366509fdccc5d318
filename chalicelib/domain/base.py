"""The base of every request model: strict types, no unknown fields, and a JSON Schema
that says exactly what the model accepts (the published contract is generated from it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints
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


# Control characters (Unicode Cc: C0, DEL, C1) in stored text end up in HTML, logs, emails
# and headers; text fields refuse them. Multi-line fields (descriptions, notes, reasons) keep
# tab and line feed; a carriage return is refused there too (send "\n").
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_TAB_AND_LF = r"\x00-\x08\x0b-\x1f\x7f-\x9f"


_TEXT_MESSAGES: dict[str, str] = {}


def text(max_length: int, min_length: int = 0, *, multiline: bool = False, also_refuse: str = "") -> StringConstraints:
    """The constraint every free-text field uses: ``Annotated[str, text(120, 1)]``. A pattern
    (not a validator), so the published JSON Schema says it too; ``also_refuse`` adds
    characters of the field's own (e.g. a key separator; ones a character class takes
    unescaped). A required field also needs a character that is not white space: the value
    is stripped before it is checked, so "  " is empty, and the schema says so."""
    refused = (_CONTROLS_BUT_TAB_AND_LF if multiline else _CONTROLS) + also_refuse
    if min_length:
        pattern = rf"^[^{refused}]*[^\s{refused}][^{refused}]*$"
    else:
        pattern = f"^[^{refused}]*$"
    message = "control characters other than tab and line feed" if multiline else "control characters"
    _TEXT_MESSAGES[pattern] = f"{message} are not allowed" + (f", nor any of {also_refuse!r}" if also_refuse else "")
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)


def text_message(pattern: str) -> str | None:
    """The message for a value a ``text`` pattern refused (``None``: not a text pattern)."""
    return _TEXT_MESSAGES.get(pattern)


def request_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """An ``Omitted`` field's ``null`` default is not a value a client may send: keep it
    out of the schema. Models that need at least one field set ``min_properties``."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and "anyOf" not in prop:
            del prop["default"]
    minimum = getattr(model, "min_properties", 0)
    if minimum:
        schema["minProperties"] = minimum


# Validators and serializers are built on a model's first use, not when its module is
# imported: each function pays only for the models it touches (a cold start builds a few).
DEFERRED = ConfigDict(defer_build=True)


class RequestModel(BaseModel):
    model_config = ConfigDict(
        DEFERRED, extra="forbid", strict=True, str_strip_whitespace=True, frozen=True, json_schema_extra=request_schema
    )


class ResponseModel(BaseModel):
    model_config = ConfigDict(DEFERRED, extra="ignore")


class Health(ResponseModel):
    status: Literal["ok"]
    version: str

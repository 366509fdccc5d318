"""Turning a Chalice request into validated input: JSON bodies, query parameters, headers."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib.domain.errors import FieldError, PayloadTooLarge, ValidationFailed

Model = TypeVar("Model", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024


def body_model(request: Request, model: type[Model]) -> Model:
    """Parses the JSON body strictly into ``model``: bad JSON, wrong types, unknown fields -> 400."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    if not raw.strip():
        raw = b"{}"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("The body is not valid JSON", [FieldError("body", str(exc))]) from exc
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object", [FieldError("body", "expected an object")])
    return validate(model, data)


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("The request has invalid fields", field_errors(exc)) from exc


# Query models are frozen: a query string seen before gets the model it gave then (hot
# lists are read with a handful of query strings; the memo is bounded all the same).
_QUERIES: dict[tuple[type[BaseModel], tuple[tuple[str, str], ...]], BaseModel] = {}
MAX_QUERIES = 1024


def query_model(request: Request, model: type[Model]) -> Model:
    """Query strings are text: validated in lax mode so ``limit=20`` becomes an int."""
    params = dict(request.query_params or {})
    key = (model, tuple(params.items()))
    known = _QUERIES.get(key)
    if known is not None:
        return known  # type: ignore[return-value]
    try:
        query = model.model_validate(params, strict=False)
    except ValidationError as exc:
        raise ValidationFailed("The query has invalid parameters", field_errors(exc)) from exc
    if model.model_config.get("frozen"):
        if len(_QUERIES) >= MAX_QUERIES:
            _QUERIES.clear()
        _QUERIES[key] = query
    return query


def field_errors(exc: ValidationError) -> list[FieldError]:
    """One error per field path; for a field that may be left out (``T | None``) the
    message about ``T`` is the useful one, not "Input should be None"."""
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        path = _path(error["loc"])
        if path not in errors or errors[path] == "Input should be None":
            errors[path] = error["msg"]
    return [FieldError(path, message) for path, message in errors.items()]


# pydantic names the member of a union an error came from ("none", "int",
# "function-before[...]"); they are not fields of the request.
_UNION_MEMBER_TAGS = frozenset({"none", "str", "int", "float", "bool", "list", "dict", "constrained-int"})


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_MEMBER_TAGS or "[" in part or not part.replace("-", "_").isidentifier():
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def header(request: Request, name: str) -> str | None:
    value = request.headers.get(name) if request.headers else None
    return value.strip() if isinstance(value, str) else None

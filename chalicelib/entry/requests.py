"""Turning a Chalice request into validated input: JSON bodies, query parameters, headers."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any, TypeVar

from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib.domain.base import text_message
from chalicelib.domain.errors import FieldError, PayloadTooLarge, ValidationFailed

Model = TypeVar("Model", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024
# No request model nests deeper than 4 (an order's lines, a profile's addresses); the
# parser recurses once per level, so the depth is checked before it runs.
MAX_JSON_DEPTH = 16


def body_model(request: Request, model: type[Model]) -> Model:
    """Parses the JSON body strictly into ``model``: bad JSON, too deep, a repeated key,
    wrong types, unknown fields -> 400."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"The body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}",
            [FieldError("body", f"at most {MAX_BODY_BYTES} bytes")],
        )
    if not raw.strip():
        raw = b"{}"
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object", [FieldError("body", "expected an object")])
    return validate(model, data)


def parse_json(raw: bytes) -> Any:
    """``json.loads`` that refuses what it would otherwise accept silently or crash on:
    nesting deeper than ``MAX_JSON_DEPTH`` and an object that repeats a key (the last one
    would win, so what was checked would not be what is used)."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ValidationFailed(
            "The body is nested too deeply", [FieldError("body", f"at most {MAX_JSON_DEPTH} levels of nesting")]
        )
    repeated = False

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        repeated = True
        return _Repeated(obj, _first_repeat(pairs))

    try:
        data = json.loads(raw, object_pairs_hook=unique_keys)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("The body is not valid JSON", [FieldError("body", str(exc))]) from exc
    if repeated:
        path = _repeated_key(data) or "body"
        raise ValidationFailed(f"The body repeats {path!r}", [FieldError(path, "this key appears more than once")])
    return data


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
        message = error["msg"]
        if error["type"] == "string_pattern_mismatch":
            message = text_message(str(error.get("ctx", {}).get("pattern", ""))) or message
        if path not in errors or errors[path] == "Input should be None":
            errors[path] = message
    return [FieldError(path, message) for path, message in errors.items()]


# pydantic names the member of a union an error came from ("none", "int",
# "function-before[...]", a model's class name); they are not fields of the request.
_UNION_MEMBER_TAGS = frozenset(
    {"none", "str", "int", "float", "bool", "list", "dict", "constrained-int", "constrained-str"}
)


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif (
            part in _UNION_MEMBER_TAGS or "[" in part or part[:1].isupper() or not part.replace("-", "_").isidentifier()
        ):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def header(request: Request, name: str) -> str | None:
    value = request.headers.get(name) if request.headers else None
    return value.strip() if isinstance(value, str) else None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, brackets in strings aside: a
    regex, a translate and a running sum, all in C (about a millisecond for 64 KiB)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


class _Repeated(dict[str, Any]):
    """An object of the body that named ``key`` more than once."""

    def __init__(self, values: dict[str, Any], key: str) -> None:
        super().__init__(values)
        self.key = key


def _first_repeat(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no repeated key")


def _repeated_key(value: Any, path: str = "") -> str | None:
    """The field path of the first repeated key, depth-first."""
    if isinstance(value, _Repeated):
        return f"{path}.{value.key}" if path else value.key
    if isinstance(value, dict):
        children: Any = ((f"{path}.{name}" if path else name, child) for name, child in value.items())
    elif isinstance(value, list):
        children = ((f"{path}[{index}]", child) for index, child in enumerate(value))
    else:
        return None
    for child_path, child in children:
        found = _repeated_key(child, child_path)
        if found is not None:
            return found
    return None

"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

Nothing here is written by hand per route: every ``@api.route`` records an ``Operation``
(path, method, roles, models, statuses, extra metadata) and this module turns the list
into one document. It is built once per process, on the first request that asks for it.

``Operation.extra`` keys understood here:
- ``headers``: ``{name: {"required": bool, "description": str, "schema": {...}}}`` request headers;
- ``response_headers``: ``{status: {name: description}}`` (string-valued headers);
- ``responses``: ``{status: model}`` when a status carries another model than ``response_model``;
- ``media_type``: the media type of the success responses (default ``application/json``);
- ``path_params``: ``{name: schema}`` to narrow a path parameter (default: a non-empty string);
- ``tag``: the group in the document (default: the first path segment).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib.domain.errors import REFUSALS, problem_kind
from chalicelib.entry.caching import etag_of, matches
from chalicelib.entry.examples import request_example
from chalicelib.entry.middleware import REQUEST_ID
from chalicelib.entry.problems import PROBLEM_CONTENT_TYPE

if TYPE_CHECKING:
    from chalicelib.entry.routing import Api, Operation

OPENAPI_VERSION = "3.1.0"
SECURITY_SCHEME = "cognito"
API_KEY_SCHEME = "apiKey"
REF = "#/components/schemas/{model}"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

_PATH_PARAM = re.compile(r"{([^}]+)}")


def _description(status: int) -> str:
    """A response's description: the problem vocabulary's meaning for errors, the HTTP
    reason phrase for successes."""
    if status >= 400:
        return problem_kind(status).meaning
    if status == 304:
        return "Not modified: the cached copy named by If-None-Match is current"
    return HTTPStatus(status).phrase


# Statuses the platform can answer on any operation: gateway or Cognito throttling, and
# an AWS dependency still failing after retries.
PLATFORM_STATUSES = (429, 503)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": REF.format(model="FieldError")}},
    },
}

FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "FieldError",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string", "description": 'Where, e.g. "items[0].quantity" or "body"'},
        "message": {"type": "string"},
    },
}

# Relative to where this document is served from, which is the API's root in every mode:
# the stage URL, /api/ on the site's distribution, the local server.
SERVERS: list[dict[str, str]] = [
    {"url": ".", "description": "This API: the directory this document is served from"},
]

REQUEST_ID_HEADER: dict[str, Any] = {
    "description": "Echoes the request's X-Request-Id when it matches this pattern, else a new id",
    "schema": {"type": "string", "pattern": REQUEST_ID.pattern},
}


def roles_text(roles: frozenset[str]) -> str:
    from chalicelib.entry.routing import SIGNED_IN

    if not roles:
        return "Public: no token needed."
    if roles == SIGNED_IN:
        return "Any signed-in user (Cognito ID token)."
    return "Roles: " + ", ".join(sorted(roles)) + " (Cognito groups)."


def security_of(op: Operation) -> list[dict[str, list[str]]]:
    """One requirement naming every scheme the operation needs (all of them, together)."""
    schemes = ([API_KEY_SCHEME] if op.api_key_required else []) + ([SECURITY_SCHEME] if op.roles else [])
    return [{scheme: [] for scheme in schemes}] if schemes else []


def path_params(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)


class _Schemas:
    """Collects model schemas and hoists every ``$defs`` into components/schemas."""

    def __init__(self) -> None:
        self._wanted: dict[tuple[str, str], Any] = {}

    def want(self, model: Any, mode: str) -> tuple[str, str]:
        key = (_type_key(model), mode)
        self._wanted.setdefault(key, model)
        return key

    def build(self) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, Any]]:
        from pydantic import TypeAdapter

        inputs = [(key[0], key[1], TypeAdapter(model)) for key, model in self._wanted.items()]
        if not inputs:
            return {}, {}
        mapping, defs = TypeAdapter.json_schemas(
            inputs,  # type: ignore[arg-type]
            ref_template=REF,
            schema_generator=_generator(),
        )
        return dict(mapping), dict(defs.get("$defs", {}))


def _generator() -> type:
    from pydantic.json_schema import GenerateJsonSchema

    class StrippedStrings(GenerateJsonSchema):
        """Says what ``str_strip_whitespace`` implies: a required non-empty string must hold
        more than whitespace (otherwise the document accepts what the server rejects)."""

        _strip: bool = False

        def model_schema(self, schema: Any) -> Any:
            outer = self._strip
            self._strip = bool(schema.get("config", {}).get("str_strip_whitespace", outer))
            try:
                return super().model_schema(schema)
            finally:
                self._strip = outer

        def str_schema(self, schema: Any) -> Any:
            out = super().str_schema(schema)
            stripped = schema.get("strip_whitespace", self._strip)
            if stripped and out.get("minLength", 0) >= 1 and "pattern" not in out:
                out["pattern"] = r"\S"
            return out

    return StrippedStrings


def _type_key(model: Any) -> str:
    return f"{getattr(model, '__module__', '')}.{getattr(model, '__qualname__', repr(model))}"


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Query and header values are text: an optional one is absent, never ``null``."""
    if schema.get("default", "") is None:
        schema = {k: v for k, v in schema.items() if k != "default"}
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o.get("type") != "null"]
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(kept) == 1:
        return {**rest, **kept[0]}
    return {**rest, "anyOf": kept}


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return defs[ref.rsplit("/", 1)[-1]] if ref.startswith("#/components/schemas/") else schema


def _problem_response(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    if status in (429, 503):
        headers["Retry-After"] = {"description": "Seconds to wait", "schema": {"type": "string"}}
    if status == 401:
        headers["WWW-Authenticate"] = {"schema": {"type": "string"}}
    if status == 405:
        headers["Allow"] = {"description": "The methods this path supports", "schema": {"type": "string"}}
    description = _description(status)
    if status == 422:
        kinds = "; ".join(f"`{kind.slug}`: {kind.meaning}" for kind in REFUSALS.values())
        description += f". The `type` may end with a narrower reason: {kinds}"
    return {
        "description": description,
        "headers": headers,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }


def operation_statuses(op: Operation) -> list[int]:
    """The statuses declared on the route plus those its shape implies: 401/403 from its
    roles, 400/413 from its inputs, 404 from path parameters, and the platform's 429/503."""
    from chalicelib.entry.routing import SIGNED_IN

    statuses = set(op.statuses)
    if op.roles:
        statuses.add(401)
        if op.roles != SIGNED_IN:
            statuses.add(403)
    if op.api_key_required:
        statuses.add(403)  # a missing or unknown API key, answered by the gateway
    if op.request_model is not None or op.query_model is not None or op.extra.get("headers"):
        statuses.add(400)
    if op.request_model is not None:
        statuses.add(413)
    if path_params(op.path):
        statuses.add(404)  # an unknown id, or another user's resource
    statuses.update(PLATFORM_STATUSES)
    return sorted(statuses)


def _operation(op: Operation, schemas: dict[tuple[str, str], dict[str, Any]], defs: dict[str, Any]) -> dict[str, Any]:
    roles = sorted(op.roles)
    description = "\n\n".join(p for p in (op.description, roles_text(op.roles)) if p)
    doc: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "description": description,
        "tags": [op.extra.get("tag") or op.path.strip("/").split("/")[0] or "root"],
        "x-roles": roles,
        "security": security_of(op),
    }
    parameters = _parameters(op, schemas, defs)
    if parameters:
        doc["parameters"] = parameters
    if op.request_model is not None:
        schema = schemas[(_type_key(op.request_model), "validation")]
        fields = getattr(op.request_model, "model_fields", {})
        # An empty body reads as {}: it is only invalid when some field is required, or
        # when the model needs at least one field (a PATCH).
        required = any(f.is_required() for f in fields.values()) or bool(getattr(op.request_model, "min_properties", 0))
        media: dict[str, Any] = {"schema": schema}
        example = request_example(op.request_model)
        if example is not None:
            media["example"] = example
        doc["requestBody"] = {"required": required, "content": {"application/json": media}}
    doc["responses"] = {str(status): _response(op, status, schemas) for status in operation_statuses(op)}
    return doc


def _parameters(
    op: Operation, schemas: dict[tuple[str, str], dict[str, Any]], defs: dict[str, Any]
) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    overrides = op.extra.get("path_params", {})
    for name in path_params(op.path):
        schema = overrides.get(name, {"type": "string", "minLength": 1, "maxLength": 128})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    if op.query_model is not None:
        model_schema = _resolve(schemas[(_type_key(op.query_model), "validation")], defs)
        required = set(model_schema.get("required", []))
        for name, schema in model_schema.get("properties", {}).items():
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": _without_null({k: v for k, v in schema.items() if k != "title"}),
            }
            if "description" in schema:
                param["description"] = schema["description"]
            parameters.append(param)
    for name, spec in op.extra.get("headers", {}).items():
        parameters.append(
            {
                "name": name,
                "in": "header",
                "required": bool(spec.get("required", False)),
                "description": spec.get("description", ""),
                "schema": spec.get("schema", {"type": "string"}),
            }
        )
    return parameters


def _response(op: Operation, status: int, schemas: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    if status >= 400:
        return {"$ref": f"#/components/responses/Problem{status}"}
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    for name, text in op.extra.get("response_headers", {}).get(status, {}).items():
        headers[name] = {"description": text, "schema": {"type": "string"}}
    response: dict[str, Any] = {"description": _description(status), "headers": headers}
    if status in (204, 304):
        return response
    model = op.extra.get("responses", {}).get(status, op.response_model)
    media_type = op.extra.get("media_type", "application/json")
    if model is not None:
        schema = schemas[(_type_key(model), "serialization")]
    elif media_type == "application/json":
        schema = {"type": "object"}
    else:
        schema = {"type": "string"}
    response["content"] = {media_type: {"schema": schema}}
    return response


def _wanted_models(operations: Iterable[Operation], collect: _Schemas) -> None:
    for op in operations:
        if op.request_model is not None:
            collect.want(op.request_model, "validation")
        if op.query_model is not None:
            collect.want(op.query_model, "validation")
        if op.response_model is not None:
            collect.want(op.response_model, "serialization")
        for model in op.extra.get("responses", {}).values():
            if model is not None:
                collect.want(model, "serialization")


def generate(api: Api, *, title: str = "Chowline API", version: str | None = None) -> dict[str, Any]:
    """Builds the whole document from ``api.operations``."""
    from chalicelib import __version__

    collect = _Schemas()
    _wanted_models(api.operations, collect)
    schemas, defs = collect.build()
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(api.operations, key=lambda o: (o.path, o.method)):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas, defs)
    error_statuses = sorted({s for op in api.operations for s in operation_statuses(op) if s >= 400} | {404, 405})
    components_schemas = {**defs, "Problem": PROBLEM_SCHEMA, "FieldError": FIELD_ERROR_SCHEMA}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version or __version__,
            "description": (
                "The Chowline food-delivery API. Errors are RFC 9457 problem documents "
                "(`application/problem+json`). Protected operations take a Cognito ID token as "
                "`Authorization: Bearer <token>`; `x-roles` lists the Cognito groups allowed "
                '(`["*"]`: any signed-in user). Lists take `limit` (1-100) and an opaque `cursor`. '
                "The live channel (`ws_url` of GET /client-config) sends JSON frames of the types "
                "`order.status`, `delivery.available`, `delivery.taken` and `courier.location` "
                "(the carrying courier's position, see PUT /couriers/me/location)."
            ),
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": SERVERS,
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components_schemas.items())),
            "responses": {f"Problem{status}": _problem_response(status) for status in error_statuses},
            "headers": {"X-Request-Id": REQUEST_ID_HEADER},
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito user-pool ID token (POST /auth/login returns one)",
                },
                API_KEY_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Api-Key",
                    "description": "The client application's API key (GET /client-config hands the web app its key)",
                },
            },
        },
    }


class _Served:
    """The document and the docs page, rendered once per process."""

    def __init__(self) -> None:
        self.document: tuple[str, str] | None = None
        self.page: tuple[str, str] | None = None


_served: dict[int, _Served] = {}


def _for(api: Api) -> _Served:
    return _served.setdefault(id(api), _Served())


def document_text(api: Api) -> tuple[str, str]:
    """``(json_text, etag)`` of the document, generated on the first call of the process."""
    served = _for(api)
    if served.document is None:
        text = json.dumps(generate(api), separators=(",", ":"), sort_keys=False)
        served.document = (text, etag_of(text))
    return served.document


def document_response(api: Api, if_none_match: str | None) -> Response:
    text, etag = document_text(api)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if matches(if_none_match, etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=text, status_code=200, headers={"Content-Type": "application/json", **headers})


def docs_response(api: Api) -> Response:
    """The HTML reference page: the project's own renderer, inlined, under a strict CSP."""
    served = _for(api)
    if served.page is None:
        served.page = _render_page()
    html, csp = served.page
    return Response(
        body=html,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": csp,
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _render_page() -> tuple[str, str]:
    script = (STATIC_DIR / "docs.js").read_text(encoding="utf-8")
    style = (STATIC_DIR / "docs.css").read_text(encoding="utf-8")
    html = (STATIC_DIR / "docs.html").read_text(encoding="utf-8")
    html = html.replace("/*STYLE*/", style).replace("/*SCRIPT*/", script)
    csp = (
        "default-src 'none'; "
        f"script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return html, csp


def _sha256(text: str) -> str:
    import base64

    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")

"""Route declaration with roles: ``@api.route(path, roles=...)`` registers a Chalice route
behind the Cognito authorizer, checks the caller's roles, parses the view's input and turns
every expected error into a problem response.

A view that takes ``body`` gets the JSON body parsed into its annotation's model, one that
takes ``query`` the query string; ``response_model`` names what it answers. A model is named
``"module.Class"`` of ``chalicelib.domain`` (or given as a class) and imported on first use:
a function imports the models of the routes it serves, not all of them (cold starts)."""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalice import Chalice, CognitoUserPoolAuthorizer, Response

from chalicelib.domain.errors import ChowlineError, Forbidden
from chalicelib.entry.auth import principal_of
from chalicelib.entry.problems import from_error
from chalicelib.entry.requests import body_model, query_model

# A model, or its name (imported on first use).
ModelRef = Any

PUBLIC: frozenset[str] = frozenset()
SIGNED_IN = frozenset({"*"})

# Every operation takes an API key (``X-Api-Key``): it names the client application (the
# web app, the mobile apps, each partner), whose usage plan meters and throttles it at the
# gateway. These paths do not: what monitors and a client need before they have a key
# (liveness and readiness, the contract, the client configuration that hands the web app
# its key), and the payment provider's webhook (Stripe sends no key: its signature is the
# authentication).
KEYLESS_PATHS = frozenset({"/health", "/ready", "/openapi.json", "/docs", "/client-config", "/payments/webhook"})


def model_of(ref: ModelRef | None, namespace: Mapping[str, Any]) -> Any:
    """The model (a class, or a union or list of them) a reference names: ``"module.Name"``
    of chalicelib.domain, a bare name of ``namespace`` (the view's module), or itself."""
    if not isinstance(ref, str):
        return ref
    if "." in ref:
        return _domain_model(ref)
    return namespace[ref]


@functools.cache
def _domain_model(name: str) -> Any:
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(f"chalicelib.domain.{module}"), attr)


@dataclass(frozen=True)
class Operation:
    """What the route table knows of an operation: used by the OpenAPI generator."""

    path: str
    method: str
    name: str
    roles: frozenset[str]
    summary: str
    request_ref: ModelRef | None = None
    response_ref: ModelRef | None = None
    statuses: tuple[int, ...] = ()
    query_ref: ModelRef | None = None
    # Whatever else the document needs: request ``headers``, ``response_headers`` and
    # ``responses`` (per-status models) or ``media_type``; see chalicelib/entry/openapi.py.
    extra: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    api_key_required: bool = True
    # Where the view's annotations are looked up.
    namespace: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property  # resolved once: a warm request only reads it
    def request_model(self) -> Any:
        return model_of(self.request_ref, self.namespace)

    @functools.cached_property
    def query_model(self) -> Any:
        return model_of(self.query_ref, self.namespace)

    @functools.cached_property
    def response_model(self) -> Any:
        return model_of(self.response_ref, self.namespace)


class Api:
    def __init__(self, app: Chalice, authorizer: CognitoUserPoolAuthorizer) -> None:
        self._app = app
        self._authorizer = authorizer
        self.operations: list[Operation] = []

    def route(
        self,
        path: str,
        method: str = "GET",
        *,
        roles: frozenset[str] = PUBLIC,
        response_model: ModelRef | None = None,
        statuses: tuple[int, ...] = (200,),
        extra: dict[str, Any] | None = None,
        **chalice_options: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            inputs = inspect.signature(view).parameters  # annotations stay text (PEP 563)
            doc = (view.__doc__ or view.__name__).strip()
            op = Operation(
                path=path,
                method=method,
                name=view.__name__,
                roles=roles,
                summary=doc.splitlines()[0],
                request_ref=_annotation(inputs, "body"),
                response_ref=response_model,
                statuses=statuses,
                query_ref=_annotation(inputs, "query"),
                extra=dict(extra or {}),
                description=inspect.cleandoc(doc.partition("\n")[2]) if "\n" in doc else "",
                api_key_required=path not in KEYLESS_PATHS,
                namespace=view.__globals__,
            )
            self.operations.append(op)

            @functools.wraps(view)
            def guarded(**params: Any) -> Any:
                try:
                    request = self._app.current_request
                    if roles:
                        principal = principal_of(request)
                        if roles != SIGNED_IN and not principal.has_any(roles):
                            raise Forbidden("Your account does not have a role allowed here")
                    return view(**params, **_parsed_input(op, request))
                except ChowlineError as error:
                    return from_error(error)

            authorizer = self._authorizer if roles else None
            return self._app.route(
                path,
                methods=[method],
                authorizer=authorizer,
                api_key_required=path not in KEYLESS_PATHS,
                **chalice_options,
            )(guarded)

        return register


def _annotation(inputs: Mapping[str, inspect.Parameter], name: str) -> ModelRef | None:
    if name not in inputs:
        return None
    hint = inputs[name].annotation
    assert hint is not inspect.Parameter.empty, f"the view's {name} needs a model annotation"
    return hint


def _parsed_input(op: Operation, request: Any) -> dict[str, Any]:
    """``body`` and ``query`` for the view, validated (a 400 problem otherwise), after the
    role check: who may not call a route learns nothing of its input."""
    parsed: dict[str, Any] = {}
    if op.request_ref is not None:
        parsed["body"] = body_model(request, op.request_model)
    if op.query_ref is not None:
        parsed["query"] = query_model(request, op.query_model)
    return parsed


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    from pydantic import BaseModel

    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})

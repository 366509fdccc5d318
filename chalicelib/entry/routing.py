"""Route declaration with roles: ``@api.route(path, roles=...)`` registers a Chalice route
behind the Cognito authorizer, checks the caller's roles, and turns every expected error
into a problem response."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Chalice, CognitoUserPoolAuthorizer, Response

from chalicelib.domain.errors import ChowlineError, Forbidden
from chalicelib.entry.auth import principal_of
from chalicelib.entry.problems import from_error

PUBLIC: frozenset[str] = frozenset()
SIGNED_IN = frozenset({"*"})

# Every operation takes an API key (``X-Api-Key``): it names the client application (the
# web app, the mobile apps, each partner), whose usage plan meters and throttles it at the
# gateway. These paths do not: what monitors and a client need before they have a key
# (liveness and readiness, the contract, the client configuration that hands the web app
# its key), and the payment provider's webhook (Stripe sends no key: its signature is the
# authentication).
KEYLESS_PATHS = frozenset({"/health", "/ready", "/openapi.json", "/docs", "/client-config", "/payments/webhook"})


@dataclass(frozen=True)
class Operation:
    """What the route table knows of an operation: used by the OpenAPI generator."""

    path: str
    method: str
    name: str
    roles: frozenset[str]
    summary: str
    request_model: type | None = None
    response_model: type | None = None
    statuses: tuple[int, ...] = ()
    query_model: type | None = None
    # Whatever else the document needs: request ``headers``, ``response_headers`` and
    # ``responses`` (per-status models) or ``media_type``; see chalicelib/entry/openapi.py.
    extra: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    api_key_required: bool = True


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
        request_model: type | None = None,
        response_model: type | None = None,
        query_model: type | None = None,
        statuses: tuple[int, ...] = (200,),
        extra: dict[str, Any] | None = None,
        **chalice_options: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def guarded(**params: Any) -> Any:
                try:
                    if roles:
                        principal = principal_of(self._app.current_request)
                        if roles != SIGNED_IN and not principal.has_any(roles):
                            raise Forbidden("Your account does not have a role allowed here")
                    return view(**params)
                except ChowlineError as error:
                    return from_error(error)

            doc = (view.__doc__ or view.__name__).strip()
            self.operations.append(
                Operation(
                    path=path,
                    method=method,
                    name=view.__name__,
                    roles=roles,
                    summary=doc.splitlines()[0],
                    request_model=request_model,
                    response_model=response_model,
                    statuses=statuses,
                    query_model=query_model,
                    extra=dict(extra or {}),
                    description=inspect.cleandoc(doc.partition("\n")[2]) if "\n" in doc else "",
                    api_key_required=path not in KEYLESS_PATHS,
                )
            )
            authorizer = self._authorizer if roles else None
            return self._app.route(
                path,
                methods=[method],
                authorizer=authorizer,
                api_key_required=path not in KEYLESS_PATHS,
                **chalice_options,
            )(guarded)

        return register


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    from pydantic import BaseModel

    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})

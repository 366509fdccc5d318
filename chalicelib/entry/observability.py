"""Logs, metrics and traces for every function, wired once as Chalice middleware.

- Logs: Powertools JSON lines (pretty-printed when ``POWERTOOLS_DEV=true``) carrying the
  invocation's ``request_id``, the API's ``x_request_id``, ``function_name``,
  ``cold_start`` and the caller's ``principal_id``; an access line per HTTP request
  (on AWS only for failed and slow ones, see ``ACCESS_LOG``, ``SLOW_REQUEST_MS``) and one
  line per event invocation. Those keys belong to the invocation, not the process (a
  ContextVar): the local stack runs several functions and requests at once in one process,
  and each line names the function that wrote it. ``LOG_FORMAT=compact`` (set by ``make
  run``) prints one short text line per request and per batch instead of JSON. Secrets
  never reach a log line: values under password/token/secret-like keys, JWTs and pydantic
  ``input_value`` echoes are masked by the formatter, whoever logs them.
- Metrics: whatever the services recorded through ``adapters.metrics`` is flushed as EMF
  when the invocation ends.
- Traces: on Lambda (and unless ``POWERTOOLS_TRACE_DISABLED``), botocore is patched so
  every AWS call is an X-Ray subsegment, and each invocation gets an annotated one.

Powertools is imported when the first line is written, not before: a request that
writes none (a successful read on AWS) does nothing per request beyond timing itself.
"""

from __future__ import annotations

import contextvars
import functools
import gc
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from chalice import Chalice
from chalice.app import Request

from chalicelib.domain.errors import Unauthorized
from chalicelib.entry.auth import principal_of
from chalicelib.entry.middleware import request_id_of

SENSITIVE_KEY = re.compile(
    r"pass(word)?|secret|token|authorization|cookie|session|credential|card|cvc|cvv|api[-_]?key|signature",
    re.IGNORECASE,
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_INPUT_VALUE = re.compile(r"input_value=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^,\s\]]+)")
_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+")
MASK = "[redacted]"


@functools.lru_cache(maxsize=512)
def _sensitive(key: str) -> bool:
    return bool(SENSITIVE_KEY.search(key))


def redact(value: Any, key: str = "") -> Any:
    """Masks what must never be logged, in any nesting of dicts, lists and strings."""
    if key and _sensitive(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return scrub(str(value))  # exceptions and other objects end up as their text anyway


def scrub(text: str) -> str:
    if "eyJ" in text:
        text = _JWT.sub(MASK, text)
    if "input_value=" in text:
        text = _INPUT_VALUE.sub("input_value=" + MASK, text)
    if "earer" in text:
        text = _BEARER.sub("Bearer " + MASK, text)
    return text


class _State:
    logger: Any = None
    settings_read = False
    # Every request gets an access line in development; on AWS only failed and slow ones
    # (API Gateway's access log has one line per request already): ACCESS_LOG=all|errors.
    access_all = False
    # At DEBUG the other requests get a debug line.
    debug = False
    # A request at least this slow gets its line anyway (SLOW_REQUEST_MS).
    slow_ms = 1000.0
    tracer: Any = None
    tracer_ready = False
    # Functions that have been invoked in this process: each one's first invocation is its
    # cold start (on Lambda a process runs one function; the local stack runs them all).
    warm: set[str] = set()


_state = _State()
# Building the logger and arming the first line (the local stack serves requests at once).
_setup = threading.RLock()
# The invocation this thread serves: (Lambda context, cold start, HTTP request or None).
# The keys of every line it writes are read from here when a line is written, so an
# invocation that writes none pays nothing for them.
_invocation: contextvars.ContextVar[tuple[Any, bool, Request | None] | None] = contextvars.ContextVar(
    "chowline_invocation", default=None
)


def logger() -> Any:
    """The Powertools logger of the service, built on first use."""
    if _state.logger is None:
        configure()
    return _state.logger


def _read_settings() -> None:
    dev = os.environ.get("POWERTOOLS_DEV", "").lower() in {"1", "true", "yes"}
    _state.access_all = os.environ.get("ACCESS_LOG", "all" if dev else "errors").lower() == "all"
    # The level Powertools will log at (Lambda's log level control first), known without importing it.
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL") or os.environ.get("POWERTOOLS_LOG_LEVEL") or ""
    _state.debug = level.upper() == "DEBUG"
    _state.slow_ms = float(os.environ.get("SLOW_REQUEST_MS", "1000"))
    _state.settings_read = True


def configure(stream: IO[str] | None = None, app: Chalice | None = None) -> Any:
    """Builds the logger once; later calls only point it at ``stream`` (tests, benchmarks)."""
    with _setup:  # once, even when the first lines of concurrent requests race
        service = os.environ.get("POWERTOOLS_SERVICE_NAME", "chowline")
        base = logging.getLogger(service)
        if _state.logger is None:
            from aws_lambda_powertools import Logger

            # Chalice gave the app's logger a plain-text handler: JSON lines only.
            for handler in list(base.handlers):
                base.removeHandler(handler)
            compact = os.environ.get("LOG_FORMAT", "json").lower() == "compact"
            log = Logger(service=service, stream=stream, logger_formatter=_formatter(compact))
            log.registered_handler.addFilter(_InvocationFilter())
            _state.logger = log
            _read_settings()
        else:
            for handler in base.handlers:
                if isinstance(handler, logging.StreamHandler):
                    if getattr(handler.stream, "closed", False):  # a stream closed since (a test's capture)
                        handler.stream = None  # type: ignore[assignment]
                    handler.setStream(stream or sys.stdout)
        if app is not None:
            _route_app_log(app, base)
        return _state.logger


def _formatter(compact: bool) -> Any:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class RedactingFormatter(LambdaPowertoolsFormatter):
        def serialize(self, log: dict[str, Any]) -> str:
            log = redact(log)
            return compact_line(log) if compact else super().serialize(log)

    return RedactingFormatter(use_rfc3339=True)


# Keys every line has: the compact format shows them in fixed places, or not at all.
_PLACED = frozenset(
    {"level", "location", "message", "timestamp", "service", "cold_start", "function_name", "request_id"}
    | {"x_request_id", "principal_id", "xray_trace_id", "exception", "exception_name", "stack_trace"}
)


def compact_line(log: dict[str, Any]) -> str:
    """A log record as one short line of text: time, function, then what happened."""
    at = str(log.get("timestamp") or "")[11:19]
    who = str(log.get("function_name") or log.get("service") or "-")
    message = log.get("message")
    if message == "request" and "route" in log:
        text = f"{log.get('method')} {log.get('route')} {log.get('status')} {log.get('duration_ms', 0):.0f} ms"
    elif message == "invocation" and "event" in log:
        text = (
            f"{log.get('event')} {log.get('records')} records {log.get('outcome')} {log.get('duration_ms', 0):.0f} ms"
        )
    else:
        extras = " ".join(f"{k}={v}" for k, v in log.items() if k not in _PLACED and v is not None)
        text = f"{log.get('level')} {message}" + (f" ({extras})" if extras else "")
    if log.get("principal_id"):
        text += f" user={log['principal_id']}"
    if log.get("level") in {"WARNING", "ERROR", "CRITICAL"} and log.get("x_request_id"):
        text += f" x_request_id={log['x_request_id']}"
    line = f"{at} {who:<20} {text}"
    if log.get("exception"):
        line += "\n" + str(log["exception"]).rstrip()
    return line


def _route_app_log(app: Chalice, base: logging.Logger) -> None:
    """Chalice logs uncaught exceptions on the logger named after the app: when that is not
    the service's own logger, send it through the same handler."""
    if app.log is not base:
        app.log.handlers = list(base.handlers)
        app.log.propagate = False
        app.log.setLevel(base.level)


class _FirstLine(logging.Handler):
    """Stands in for the JSON handler until a line is written: builds it then and hands it
    the line, so an invocation that logs nothing never imports Powertools."""

    def __init__(self, app: Chalice) -> None:
        super().__init__()
        self._app = app

    def emit(self, record: logging.LogRecord) -> None:
        configure(app=self._app)
        _state.logger.registered_handler.handle(record)


def _arm(app: Chalice) -> None:
    """First invocation: the app's loggers write JSON from their first line on."""
    with _setup:
        if _state.settings_read:  # another thread armed it meanwhile
            return
        if _state.logger is not None:
            configure(app=app)
            return
        _read_settings()
        base = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "chowline"))
        base.handlers = [_FirstLine(app)]
        _route_app_log(app, base)


class _InvocationFilter(logging.Filter):
    """Adds the keys of the invocation this thread serves to every line it writes: ids,
    function, cold start, and the caller's id (the token may be verified after the request
    started, by the inner middleware). A line written outside any invocation gets none."""

    def filter(self, record: logging.LogRecord) -> bool:
        invocation = _invocation.get()
        if invocation is None:
            return True
        context, cold, request = invocation
        fields = record.__dict__
        fields.setdefault("request_id", getattr(context, "aws_request_id", None))
        fields.setdefault("function_name", _function_name(context))
        fields.setdefault("cold_start", cold)
        if request is not None:
            fields.setdefault("x_request_id", request_id_of(request))
            if "principal_id" not in fields:
                record.principal_id = principal_id(request)
        return True


def _function_name(context: Any) -> str | None:
    return getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")


def principal_id(request: Request) -> str | None:
    try:
        return principal_of(request).user_id
    except Unauthorized:  # no verified identity (yet): a public route or a rejected token
        return None


def _tracer() -> Any:
    """Powertools' Tracer on Lambda, patching botocore; ``None`` anywhere else."""
    if not _state.tracer_ready:
        _state.tracer_ready = True
        on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
        disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in {"1", "true", "yes"}
        if on_lambda and not disabled:
            from aws_lambda_powertools import Tracer

            tracer = Tracer(auto_patch=False)
            tracer.patch(["botocore"])
            _state.tracer = tracer
    return _state.tracer


def _traced(name: str, annotations: dict[str, Any], call: Callable[[], Any]) -> Any:
    tracer = _state.tracer if _state.tracer_ready else _tracer()
    if tracer is None:
        return call()
    with tracer.provider.in_subsegment(f"## {name}") as subsegment:
        for key, value in annotations.items():
            if value is not None:
                subsegment.put_annotation(key=key, value=value)
        return call()


def handle(
    app: Chalice,
    event: Any,
    get_response: Callable[[Any], Any],
    metrics: Callable[[], Any] | None = None,
) -> Any:
    """The ``@app.middleware("all")`` body: dispatches on the kind of event."""
    if not _state.settings_read:
        _arm(app)
    request = event if isinstance(event, Request) else None
    context = event.lambda_context if request is not None else getattr(event, "context", None)
    function = str(_function_name(context))
    cold = function not in _state.warm
    if cold:
        _state.warm.add(function)
    # This invocation's keys, in this thread only: never another function's.
    token = _invocation.set((context, cold, request))
    try:
        if request is not None:
            return _http(request, get_response)
        return _event(event, get_response)
    finally:
        if metrics is not None:
            try:
                metrics().flush()
            except Exception:  # metrics must never fail the invocation
                log = logger()
                log.exception("metrics flush failed")
        _invocation.reset(token)
        if cold:
            _after_cold_start()


def _after_cold_start() -> None:
    """What the cold start made lives as long as the container: frozen out of the
    collector's generations, which from now on scan only what invocations make."""
    if not gc.isenabled():  # switched off for the cold start (app.py)
        gc.freeze()
        gc.enable()


def _http(request: Request, get_response: Callable[[Any], Any]) -> Any:
    started = time.perf_counter()
    status = 500
    try:
        if _state.tracer_ready and _state.tracer is None:  # the usual case: no tracing
            response = get_response(request)
        else:
            route = request.context.get("resourcePath", "")
            annotations = {"route": route, "x_request_id": request_id_of(request)}
            response = _traced(f"{request.method} {route}", annotations, lambda: get_response(request))
        status = response.status_code
        return response
    finally:
        elapsed = (time.perf_counter() - started) * 1000
        if status >= 400 or elapsed >= _state.slow_ms or _state.access_all or _state.debug:  # else no line: build none
            _access_line(request, status, elapsed)


def _access_line(request: Request, status: int, elapsed: float) -> None:
    route = (request.context or {}).get("resourcePath", "")
    fields = {"method": request.method, "route": route, "status": status, "duration_ms": round(elapsed, 2)}
    log = logger()
    if status >= 500:
        log.error("request failed", extra=fields)
    elif _state.access_all or status >= 400 or elapsed >= _state.slow_ms:
        log.info("request", extra=fields)
    else:
        log.debug("request", extra=fields)


def _event(event: Any, get_response: Callable[[Any], Any]) -> Any:
    kind = type(event).__name__
    raw = event.to_dict()
    records = len(raw.get("Records", []) or []) if isinstance(raw, dict) else 0
    log = logger()
    started = time.perf_counter()
    outcome = "error"
    try:
        result = _traced(kind, {"event": kind}, lambda: get_response(event))
        failures = len(result.get("batchItemFailures", [])) if isinstance(result, dict) else 0
        outcome = "partial" if failures else "ok"
        return result
    except Exception:
        log.exception("invocation failed", extra={"event": kind})
        raise
    finally:
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        log.info("invocation", extra={"event": kind, "records": records, "outcome": outcome, "duration_ms": elapsed})

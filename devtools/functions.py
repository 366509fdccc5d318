"""The app's functions and their sizes, each written once.

The list of functions is what ``app.py`` declares. Memory, timeout, reserved concurrency and
policy file of each are the top-level ``lambda_functions`` of ``.chalice/config.json``: chalice
applies them to every stage, ``chalice package`` writes them into the template, and the deploy,
the template gates, the IAM test and the cost model read them from there.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def camel(function: str) -> str:
    """How chalice names a function's role and log group (``api_handler`` -> ``ApiHandler``)."""
    return "".join(part.capitalize() for part in function.split("_"))


def logical_id(function: str) -> str:
    """The CloudFormation logical id chalice generates for a function."""
    return "APIHandler" if function == "api_handler" else camel(function)


def declared(project_dir: Path = ROOT) -> dict[str, Any]:
    """What the app declares: its functions and its routes (path -> methods)."""
    from chalice.cli.factory import CLIFactory

    app = CLIFactory(str(project_dir)).load_chalice_app()
    functions = {f.name for f in app.pure_lambda_functions} | {s.name for s in app.event_sources}
    functions |= {handler.name for handler in app.websocket_handlers.values()}
    routes = {path: sorted(methods) for path, methods in app.routes.items()}
    if routes:
        functions.add("api_handler")
    return {"functions": sorted(functions), "routes": routes, "websocket": bool(app.websocket_handlers)}


@lru_cache(maxsize=1)
def app_functions() -> tuple[str, ...]:
    """The functions of this project's app, in a stable order."""
    return tuple(declared(ROOT)["functions"])


def sizes(project_dir: Path = ROOT) -> dict[str, dict[str, Any]]:
    """``{function: {"lambda_memory_size", "lambda_timeout", "reserved_concurrency"?, ...}}``."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    return config["lambda_functions"]

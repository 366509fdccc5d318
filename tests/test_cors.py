"""One CORS story: the web app is same-origin, so no route grants another origin."""

from __future__ import annotations

import app as app_module


def test_no_route_declares_cors():
    declared = [
        f"{method} {path}"
        for path, methods in app_module.app.routes.items()
        for method, entry in methods.items()
        if entry.cors
    ]
    assert declared == []

"""Account-enumeration timing, against its own emulator:

    python -m bench.accounts [--rounds 200]

``POST /auth/forgot`` for an existing account and for an unknown email, interleaved, through
the Lambda handler (``app.app(event, context)`` with API Gateway proxy events, in process).
The bodies must be identical and the latency distributions alike: the report gives each
median and 90th percentile and the ratio unknown / known (about 1.0 means the timing tells
nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from typing import Any

from bench.common import LambdaContext, proxy_event, save, stack


def post_event(path: str, body: dict[str, Any]) -> dict[str, Any]:
    event = proxy_event(path, path, method="POST")
    event["body"] = json.dumps(body)
    event["headers"] = {**event.get("headers", {}), "Content-Type": "application/json"}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return event


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def compare(handler: Any, context: Any, known: dict[str, Any], unknown: dict[str, Any], rounds: int) -> dict[str, Any]:
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    bodies: dict[str, set[tuple[int, str]]] = {"known": set(), "unknown": set()}  # status, body
    for _ in range(rounds):
        for name, event in (("known", known), ("unknown", unknown)):
            started = time.perf_counter()
            response = handler(event, context)
            timings[name].append((time.perf_counter() - started) * 1000)
            bodies[name].add((response["statusCode"], response["body"]))
    known_median, unknown_median = quantile(timings["known"], 0.5), quantile(timings["unknown"], 0.5)
    return {
        "known_ms": {"p50": round(known_median, 2), "p90": round(quantile(timings["known"], 0.9), 2)},
        "unknown_ms": {"p50": round(unknown_median, 2), "p90": round(quantile(timings["unknown"], 0.9), 2)},
        "ratio_unknown_to_known_p50": round(unknown_median / known_median, 3),
        "statuses": {name: sorted({status for status, _ in seen}) for name, seen in bodies.items()},
        "same_body": bodies["known"] == bodies["unknown"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    with stack() as env:
        import boto3

        from chalicelib import bootstrap
        from devtools.seed import DemoAccount, create_user

        email = f"bench-{uuid.uuid4().hex[:8]}@test.chowline.dev"
        create_user(boto3.session.Session(), env, DemoAccount(email, "Bench", ("customers",)))
        os.environ.update(env)
        bootstrap.reset()
        import app as app_module

        context = LambdaContext()
        nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        forgot = compare(
            app_module.app,
            context,
            post_event("/auth/forgot", {"email": email}),
            post_event("/auth/forgot", {"email": nobody}),
            args.rounds,
        )
    report = {"rounds": args.rounds, "forgot": forgot}
    save("accounts", report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

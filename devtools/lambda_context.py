"""The context object Lambda passes to a handler, for calling handlers outside Lambda (the
local pipeline, tests, benchmarks): the attributes Powertools and the app read; and what a
Lambda container keeps once a function has served its first invocation (``warmed``)."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass
class LambdaContext:
    function_name: str = "api_handler"
    timeout_seconds: float = 60.0
    memory_limit_in_mb: int = 512
    stage: str = "local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        physical = f"chowline-{self.stage}-{self.function_name}"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{physical}"
        self.log_group_name = f"/aws/lambda/{physical}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# The functions that have served an invocation in this process.
_WARM: set[str] = set()
_WARM_LOCK = threading.Lock()


def warmed(function: str) -> None:
    """Called when an invocation of ``function`` has returned. After its first one in this
    process, what the process holds is frozen out of the collector's generations, as the app
    does after a cold start on Lambda (app.py): the modules, clients and models that first
    invocation made live as long as the process, so full collections, a pause for every
    thread of the process, stop walking them. The cost, once per function: garbage still in
    use at that moment (requests in flight) is never collected if it is part of a cycle."""
    with _WARM_LOCK:
        if function in _WARM:
            return
        _WARM.add(function)
    gc.freeze()


def invoke(handler: Callable[[Any, Any], Any], function: str, event: Any) -> Any:
    """``handler(event, context)``, as Lambda calls ``function``, then ``warmed``."""
    try:
        return handler(event, LambdaContext(function))
    finally:
        warmed(function)

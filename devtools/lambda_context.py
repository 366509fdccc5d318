"""The context object Lambda passes to a handler, for calling handlers outside Lambda (the
local pipeline, tests, benchmarks): the attributes Powertools and the app read."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

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

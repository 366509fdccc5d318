"""Chowline: the business logic behind the Chalice app in ``app.py``."""

import gc
import os

__version__ = "0.1.0"

# No pydantic plugin is used: without this pydantic scans every installed distribution's
# entry points when it builds its first validator (a few ms of each cold start).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# A cold start allocates hundreds of thousands of objects that live as long as the
# container (modules, classes, service models): collecting the youngest generation every
# 700 allocations spends ~30 ms of a menu request's cold start scanning them. Collections
# stay on, less often.
gc.set_threshold(50_000, 20, 20)

"""Chowline: the business logic behind the Chalice app in ``app.py``."""

import os

__version__ = "0.1.0"

# No pydantic plugin is used: without this pydantic scans every installed distribution's
# entry points when it builds its first validator (a few ms of each cold start).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

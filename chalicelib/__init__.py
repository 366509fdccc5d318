"""Chowline: the business logic behind the Chalice app in ``app.py``."""

__version__ = "0.1.0"

"""Errors raised by the local runner."""

from __future__ import annotations


class StartupError(Exception):
    """The app or its configuration cannot be hosted; the message says what to fix."""

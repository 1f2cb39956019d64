"""Mutable state of one sandbox: configuration, issued tokens, Insider's applied users, fault RNG."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.insider_store import InsiderUsers
from sandbox.recorder import RecordedRequest, Recorder


@dataclass
class IssuedToken:
    tenant: str
    expires_at: float  # time.monotonic()
    expired: bool = False

    def valid_for(self, tenant: str) -> bool:
        return self.tenant == tenant and not self.expired and time.monotonic() < self.expires_at


@dataclass
class TokenStore:
    """Opaque bearer tokens issued by the inQuba token endpoint."""

    _tokens: dict[str, IssuedToken] = field(default_factory=dict)
    issued: int = 0

    def issue(self, tenant: str, lifetime_seconds: float) -> str:
        token = secrets.token_urlsafe(32)
        self._tokens[token] = IssuedToken(tenant, time.monotonic() + lifetime_seconds)
        self.issued += 1
        return token

    def is_valid(self, token: str, tenant: str) -> bool:
        issued = self._tokens.get(token)
        return issued is not None and issued.valid_for(tenant)

    def expire_all(self) -> int:
        """Expire every token still valid; returns how many that was."""
        count = 0
        for issued in self._tokens.values():
            if not issued.expired and time.monotonic() < issued.expires_at:
                count += 1
            issued.expired = True
        return count

    def active(self) -> int:
        now = time.monotonic()
        return sum(1 for t in self._tokens.values() if not t.expired and now < t.expires_at)

    def clear(self) -> None:
        self._tokens.clear()
        self.issued = 0


@dataclass
class SlidingWindow:
    """Admission times of the last window (60 seconds unless configured) for one target."""

    times: deque[float] = field(default_factory=deque)

    def admit(self, limit: int, window: float = 60.0) -> float | None:
        """Admit a request (None) or refuse it, returning seconds until a slot frees up."""
        now = time.monotonic()
        while self.times and self.times[0] <= now - window:
            self.times.popleft()
        if len(self.times) >= limit:
            return max(0.0, self.times[0] + window - now)
        self.times.append(now)
        return None


class SandboxState:
    """Everything a running sandbox remembers; `reset()` returns it to its start-up state."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial_config = config
        self.config = config
        self.tokens = TokenStore()
        self.insider_users = InsiderUsers()
        self.recorder = Recorder(config.max_recorded_requests, config.max_recorded_body_bytes)
        self.windows: dict[str, SlidingWindow] = {}
        self.rng = random.Random(config.random_seed)
        self._release = asyncio.Event()

    def configure(self, update: dict[str, Any]) -> SandboxConfig:
        self.config = self.config.updated(update)
        self.recorder.max_requests = self.config.max_recorded_requests
        self.recorder.max_body_bytes = self.config.max_recorded_body_bytes
        if "random_seed" in update:
            self.rng = random.Random(self.config.random_seed)
        if "rate_limit_per_minute" in update or "rate_limit_window_seconds" in update:
            self.windows.clear()
        return self.config

    def reset(self) -> None:
        self.release_held_requests()
        self.config = self.initial_config
        # Issued tokens stay valid: they are held by long-lived clients (the app caches its token), and
        # forgetting them would slip an unasked-for 401 into the next test. /_control/tokens/expire
        # invalidates them explicitly. Only the issued counter restarts.
        self.tokens.issued = 0
        self.insider_users.clear()
        self.recorder.reset()
        self.recorder.max_requests = self.config.max_recorded_requests
        self.recorder.max_body_bytes = self.config.max_recorded_body_bytes
        self.windows.clear()
        self.rng = random.Random(self.config.random_seed)

    def take_upsert_reply(self) -> dict[str, Any] | None:
        """The odd upsert reply asked for (`insider_upsert_reply`) if this upsert gets it; uses up a count."""
        reply = self.config.insider_upsert_reply
        if reply is None:
            return None
        if reply["rate"] is not None:
            return reply if self.rng.random() < reply["rate"] else None
        left = reply["count"] - 1
        self.config = dataclasses.replace(self.config, insider_upsert_reply={**reply, "count": left} if left else None)
        return reply

    def window(self, fault_target: str) -> SlidingWindow:
        return self.windows.setdefault(fault_target, SlidingWindow())

    async def hold(self, seconds: float) -> None:
        """Wait `seconds`, or less if held requests are released (reset or shutdown)."""
        release = self._release
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=seconds)

    def release_held_requests(self) -> None:
        self._release.set()
        self._release = asyncio.Event()


STATE_KEY: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)
ENTRY_KEY: web.RequestKey[RecordedRequest] = web.RequestKey("sandbox_entry", RecordedRequest)

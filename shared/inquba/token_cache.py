"""The inQuba access token, cached in process memory and in a blob shared by every instance.

One token request per token lifetime for the whole app: callers in one process share an asyncio
lock, and processes share a blob lease, so exactly one of them asks the token endpoint while the
others wait for the blob to hold a fresh token. The blob name is a hash of the token URL, username
and client id; no secret is ever part of a key or a name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob.aio import BlobClient, BlobLeaseClient, ContainerClient

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60  # longer than the token request can take (connect + read timeouts)


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_at: float  # epoch seconds
    lifetime_known: bool  # False when the token endpoint sent no expires_in

    def fresh(self, now: float, skew: float) -> bool:
        return self.expires_at - skew > now

    def to_json(self) -> str:
        return json.dumps(
            {"access_token": self.access_token, "expires_at": self.expires_at, "lifetime_known": self.lifetime_known}
        )

    @classmethod
    def from_json(cls, data: bytes) -> Token | None:
        try:
            raw = json.loads(data or b"{}")
            return cls(str(raw["access_token"]), float(raw["expires_at"]), bool(raw.get("lifetime_known", True)))
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at}, lifetime_known={self.lifetime_known})"


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint answered: the token and, when it said so, its lifetime."""

    access_token: str
    expires_in: float | None


@dataclass(frozen=True)
class CachedTokenState:
    """What the operations overview may know of a cached token: when it expires and when it was written."""

    expires_at: float
    written_at: float
    lifetime_known: bool
    fresh: bool


def cache_key(token_url: str, username: str, client_id: str) -> str:
    return hashlib.sha256(f"{token_url}\n{username}\n{client_id}".encode()).hexdigest()


class TokenUnavailable(Exception):
    """Another instance holds the refresh lease longer than we are willing to wait."""


class TokenCache:
    """Two-level token cache with single-flight refresh across coroutines and processes."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        refresh_skew_seconds: float,
        default_lifetime_seconds: float,
        clock: Callable[[], float] = time.time,
        lease_wait_seconds: float = LEASE_SECONDS + 10,
    ) -> None:
        self.container = container
        self.skew = refresh_skew_seconds
        self.default_lifetime = default_lifetime_seconds
        self.clock = clock
        self.lease_wait_seconds = lease_wait_seconds
        self._memory: dict[str, Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _usable(self, token: Token | None, reject: str | None) -> bool:
        return token is not None and token.access_token != reject and token.fresh(self.clock(), self.skew)

    async def get(
        self,
        key: str,
        fetch: Callable[[], Awaitable[TokenGrant]],
        *,
        reject: str | None = None,
    ) -> tuple[Token, bool]:
        """A fresh token and whether it came from a cache; `reject` is a token known to be refused (401)."""
        token = self._memory.get(key)
        if self._usable(token, reject):
            return token, True  # type: ignore[return-value]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = self._memory.get(key)
            if self._usable(token, reject):
                return token, True  # type: ignore[return-value]
            token, cached = await self._shared_get(key, fetch, reject)
            self._memory[key] = token
            return token, cached

    async def describe(self, key: str) -> CachedTokenState | None:
        """The shared (blob) token's expiry and age, never the token; None when no token is cached."""
        try:
            downloader = await self.container.get_blob_client(f"{key}.json").download_blob()
            token = Token.from_json(await downloader.readall())
        except ResourceNotFoundError:
            return None
        if token is None:
            return None
        written = downloader.properties.last_modified
        return CachedTokenState(token.expires_at, written.timestamp() if written else self.clock(),
                                token.lifetime_known, token.fresh(self.clock(), self.skew))

    def forget(self, key: str) -> None:
        self._memory.pop(key, None)

    async def _read(self, blob: BlobClient) -> Token | None:
        try:
            downloader = await blob.download_blob()
            return Token.from_json(await downloader.readall())
        except ResourceNotFoundError:
            return None

    async def _shared_get(
        self, key: str, fetch: Callable[[], Awaitable[TokenGrant]], reject: str | None
    ) -> tuple[Token, bool]:
        blob = self.container.get_blob_client(f"{key}.json")
        deadline = time.monotonic() + self.lease_wait_seconds
        delay = 0.05
        while True:
            token = await self._read(blob)
            if self._usable(token, reject):
                return token, True  # type: ignore[return-value]
            lease = await self._try_lease(blob)
            if lease is not None:
                try:
                    token = await self._read(blob)  # another instance may have refreshed before our lease
                    if self._usable(token, reject):
                        return token, True  # type: ignore[return-value]
                    grant = await fetch()
                    token = self._token_from(grant)
                    await blob.upload_blob(token.to_json(), overwrite=True, lease=lease)
                    return token, False
                finally:
                    try:
                        await lease.release()
                    except HttpResponseError:
                        logger.warning("token cache: lease release failed; it expires by itself")
            if time.monotonic() > deadline:
                raise TokenUnavailable("another instance is refreshing the inQuba token; try again shortly")
            # Someone else holds the lease: poll the blob for the token they are fetching.
            await asyncio.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)

    async def _try_lease(self, blob: BlobClient) -> BlobLeaseClient | None:
        """The refresh lease, or None while another instance holds it."""
        for _ in range(2):
            try:
                return await blob.acquire_lease(lease_duration=LEASE_SECONDS)
            except ResourceNotFoundError:
                with contextlib.suppress(ResourceExistsError):
                    await blob.upload_blob(b"{}", overwrite=False)
            except HttpResponseError as exc:
                if exc.status_code in (409, 412):
                    return None
                raise
        return None

    def _token_from(self, grant: TokenGrant) -> Token:
        lifetime = grant.expires_in if grant.expires_in and grant.expires_in > 0 else None
        if lifetime is not None and lifetime <= self.skew:
            lifetime = max(lifetime / 2, 1.0)  # a very short lifetime: refresh half-way instead of never caching
            return Token(grant.access_token, self.clock() + lifetime + self.skew, True)
        return Token(
            grant.access_token,
            self.clock() + (lifetime if lifetime is not None else self.default_lifetime + self.skew),
            lifetime is not None,
        )

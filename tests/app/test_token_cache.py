"""The token cache against real Azurite: single flight across coroutines and cache instances."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from shared.inquba.token_cache import TokenCache, TokenGrant, cache_key


@pytest.fixture
async def container(storage_connection_string: str) -> AsyncIterator[ContainerClient]:
    service = BlobServiceClient.from_connection_string(storage_connection_string)
    client = service.get_container_client(f"tokens-{uuid.uuid4().hex[:12]}")
    await client.create_container()
    yield client
    await client.delete_container()
    await service.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeTokenEndpoint:
    """Counts grants; the token endpoint itself is exercised against the sandbox elsewhere."""

    def __init__(self, expires_in: float | None = 3600) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.called = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> TokenGrant:
        self.calls += 1
        self.called.set()
        await self.release.wait()
        return TokenGrant(f"token-{self.calls}", self.expires_in)


def make_cache(container: ContainerClient, clock: Clock) -> TokenCache:
    return TokenCache(container, refresh_skew_seconds=60, default_lifetime_seconds=300, clock=clock)


async def test_concurrent_callers_in_two_caches_share_one_token_request(container: ContainerClient) -> None:
    clock, endpoint = Clock(), FakeTokenEndpoint()
    endpoint.release.clear()  # hold the first request so every caller piles up behind it
    caches = [make_cache(container, clock), make_cache(container, clock)]
    key = cache_key("https://h/t/connect/token", "u", "c")
    tasks = [asyncio.create_task(caches[i % 2].get(key, endpoint)) for i in range(100)]
    await endpoint.called.wait()
    endpoint.release.set()
    results = await asyncio.gather(*tasks)
    assert endpoint.calls == 1
    assert {token.access_token for token, _ in results} == {"token-1"}
    assert sum(1 for _, cached in results if not cached) == 1


async def test_token_is_refreshed_ahead_of_expiry(container: ContainerClient) -> None:
    clock, endpoint = Clock(), FakeTokenEndpoint(expires_in=600)
    cache = make_cache(container, clock)
    first, _ = await cache.get("k1", endpoint)
    clock.now += 600 - 60 - 1  # still outside the skew
    assert (await cache.get("k1", endpoint))[0] == first
    clock.now += 2  # inside the 60 s skew: refresh
    second, cached = await cache.get("k1", endpoint)
    assert second.access_token == "token-2" and not cached


async def test_rejected_token_is_replaced_once_for_everyone(container: ContainerClient) -> None:
    clock, endpoint = Clock(), FakeTokenEndpoint()
    a, b = make_cache(container, clock), make_cache(container, clock)
    bad, _ = await a.get("k2", endpoint)
    await b.get("k2", endpoint)
    replaced = await asyncio.gather(*(cache.get("k2", endpoint, reject=bad.access_token) for cache in (a, b) * 10))
    assert endpoint.calls == 2
    assert {t.access_token for t, _ in replaced} == {"token-2"}


async def test_missing_expires_in_uses_the_default_lifetime(container: ContainerClient) -> None:
    clock, endpoint = Clock(), FakeTokenEndpoint(expires_in=None)
    cache = make_cache(container, clock)
    token, _ = await cache.get("k3", endpoint)
    assert not token.lifetime_known
    clock.now += 299
    assert (await cache.get("k3", endpoint))[0] == token
    clock.now += 2
    assert (await cache.get("k3", endpoint))[0].access_token == "token-2"


async def test_blob_name_and_content_hold_no_credentials(container: ContainerClient) -> None:
    clock, endpoint = Clock(), FakeTokenEndpoint()
    key = cache_key("https://h/t/connect/token", "user-canary", "client-canary")
    await make_cache(container, clock).get(key, endpoint)
    names = [b.name async for b in container.list_blobs()]
    assert names == [f"{key}.json"]
    assert "canary" not in names[0]

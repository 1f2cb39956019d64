"""After a 403 Insider says: stop sending, fix the partner name or token, then retry. This is that stop.

The pause is a blob named by a hash of the partner name and API key, so it ends by itself when the
settings change, or by `POST /api/insider/resume`.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

from shared.timestamps import iso_utc

CACHE_SECONDS = 5.0


class InsiderPause:
    def __init__(self, container: ContainerClient, partner_name: str, api_key: str) -> None:
        digest = hashlib.sha256(f"{partner_name}\n{api_key}".encode()).hexdigest()[:32]
        self.blob = container.get_blob_client(f"paused/{digest}.json")
        self._cached: tuple[float, dict[str, Any] | None] | None = None

    async def state(self) -> dict[str, Any] | None:
        """`{"since", "error"}` while paused, else None (cached for a few seconds)."""
        now = time.monotonic()
        if self._cached and now - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        try:
            downloader = await self.blob.download_blob()
            state: dict[str, Any] | None = json.loads(await downloader.readall())
        except ResourceNotFoundError:
            state = None
        self._cached = (now, state)
        return state

    async def pause(self, error: str) -> None:
        state = {"since": iso_utc(), "error": error}
        await self.blob.upload_blob(json.dumps(state), overwrite=True)
        self._cached = (time.monotonic(), state)

    async def resume(self) -> bool:
        """True when a pause was lifted."""
        try:
            await self.blob.delete_blob()
            lifted = True
        except ResourceNotFoundError:
            lifted = False
        self._cached = (time.monotonic(), None)
        return lifted

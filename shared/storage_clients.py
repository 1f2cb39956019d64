"""Async Azure Storage clients, built once per process from a connection string or identity settings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.blob.aio import BlobServiceClient, ContainerClient
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from shared.settings import Settings, StorageSettings

logger = logging.getLogger(__name__)
STORAGE_SCOPE = "https://storage.azure.com/.default"


class StorageCredentialError(RuntimeError):
    """Identity-based storage is configured but no credential could be had; says which setting or role."""


def _credential(storage: StorageSettings) -> Any:
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if (storage.credential or "").lower() == "managedidentity":
        if storage.client_id:
            return ManagedIdentityCredential(client_id=storage.client_id)
        return ManagedIdentityCredential()
    return DefaultAzureCredential()


@dataclass
class StorageClients:
    """The three service clients plus the app's named containers, queues and tables."""

    blob: BlobServiceClient
    queue: QueueServiceClient
    table: TableServiceClient
    settings: Settings
    credential: Any = None
    _ensured: set[str] = field(default_factory=set)
    _ensure_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageClients:
        storage = settings.storage
        options = {"use_env_settings": storage.proxy_configured}
        if storage.connection_string:
            conn = storage.connection_string  # the SDKs resolve UseDevelopmentStorage=true themselves
            return cls(
                blob=BlobServiceClient.from_connection_string(conn, **options),
                queue=QueueServiceClient.from_connection_string(conn, **options),
                table=TableServiceClient.from_connection_string(conn, **options),
                settings=settings,
            )
        credential = _credential(storage)
        return cls(
            blob=BlobServiceClient(str(storage.blob_service_uri), credential=credential, **options),
            queue=QueueServiceClient(str(storage.queue_service_uri), credential=credential, **options),
            table=TableServiceClient(endpoint=str(storage.table_service_uri), credential=credential, **options),
            settings=settings,
            credential=credential,
        )

    def container(self, setting: str) -> ContainerClient:
        return self.blob.get_container_client(self.settings.containers[setting])

    def work_queue(self, setting: str) -> QueueClient:
        """A queue read by a queue trigger: base64 text, as the Functions host expects by default."""
        return self.queue.get_queue_client(
            self.settings.queues[setting],
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    def poison_queue(self, setting: str) -> QueueClient:
        return self.queue.get_queue_client(
            self.settings.queues[setting] + "-poison",
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    def table_client(self, setting: str) -> TableClient:
        return self.table.get_table_client(self.settings.tables[setting])

    async def ensure_resources(self) -> None:
        """Create the app's containers, queues and tables when missing (Bicep creates them in Azure)."""
        async with self._ensure_lock:
            if "all" in self._ensured:
                return
            if self.credential is not None:
                await self._check_credential()
            tasks = [self._ignore_exists(self.blob.create_container(n)) for n in self.settings.containers.values()]
            for name in self.settings.queues.values():
                tasks.append(self._ignore_exists(self.queue.create_queue(name)))
                tasks.append(self._ignore_exists(self.queue.create_queue(name + "-poison")))
            tasks += [self._ignore_exists(self.table.create_table(n)) for n in self.settings.tables.values()]
            await asyncio.gather(*tasks)
            self._ensured.add("all")

    async def _check_credential(self) -> None:
        """Get a storage token first, so a missing identity is reported as such, not as a storage error."""
        try:
            await self.credential.get_token(STORAGE_SCOPE)
        except Exception as exc:
            raise StorageCredentialError(describe_credential_error(exc)) from exc

    @staticmethod
    async def _ignore_exists(coro: Any) -> None:
        try:
            await coro
        except ResourceExistsError:
            pass
        except ClientAuthenticationError as exc:
            raise StorageCredentialError(describe_credential_error(exc)) from exc
        except HttpResponseError as exc:
            if exc.status_code == 409:  # Azurite answers 409 for some existing resources
                return
            if exc.status_code == 403:
                # The identity may read and write data without the right to create resources:
                # the Bicep template creates them, so this is only worth a warning.
                logger.warning(
                    "storage: not allowed to create a resource (%s); expecting it to exist. If requests fail with "
                    "403 too, the identity lacks Storage Blob Data Owner, Storage Queue Data Contributor or Storage "
                    "Table Data Contributor on the account", exc.reason,
                )
                return
            raise

    async def close(self) -> None:
        await asyncio.gather(self.blob.close(), self.queue.close(), self.table.close())
        if self.credential is not None:
            await self.credential.close()


def describe_credential_error(exc: Exception) -> str:
    return (
        "storage: no credential for identity-based storage. In Azure, set AzureWebJobsStorage__credential="
        "managedidentity and AzureWebJobsStorage__clientId to the user-assigned identity's client ID, and give "
        "that identity Storage Blob Data Owner, Storage Queue Data Contributor and Storage Table Data Contributor "
        "on the account; locally, sign in with `az login` or set AzureWebJobsStorage to a connection string. "
        f"({type(exc).__name__})"
    )

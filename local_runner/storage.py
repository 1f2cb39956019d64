"""Queue service clients for trigger connections, resolved like the host resolves them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from azure.storage.queue.aio import QueueServiceClient

from local_runner.errors import StartupError

log = logging.getLogger("local_runner.storage")

AZURE_WEBJOBS_PREFIX = "AzureWebJobs"
# The SDK default (first retry after ~15 s, four tries) suits remote services, not a local emulator;
# this keeps a stalled poll short so that shutdown stays prompt. Without use_env_settings=False, aiohttp reads
# proxy variables and ~/.netrc again (in a thread) on every queue call.
CLIENT_OPTIONS = {"retry_total": 3, "initial_backoff": 1, "increment_base": 2, "random_jitter_range": 1,
                  "use_env_settings": False}


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection string, or an identity-based queue service URI with credential settings."""

    name: str
    connection_string: str | None = None
    service_uri: str | None = None
    credential: str | None = None  # "managedidentity" or None (DefaultAzureCredential)
    client_id: str | None = None
    tenant_id: str | None = None
    client_secret: str | None = None

    def describe(self) -> str:
        if self.connection_string is not None:
            return f"{self.name} (connection string)"
        kind = "managed identity" if self.credential == "managedidentity" else "DefaultAzureCredential"
        return f"{self.name} ({self.service_uri}, {kind})"


def _lookup(settings: Mapping[str, str], name: str) -> str | None:
    value = settings.get(name)
    return value if value else None


def resolve_connection(name: str, settings: Mapping[str, str]) -> ConnectionInfo:
    """`<name>` / `AzureWebJobs<name>` as a connection string, else `<name>__queueServiceUri`,
    `<name>__serviceUri` or `<name>__accountName` with `__credential`, `__clientId`, `__tenantId`,
    `__clientSecret`."""
    candidates = [name] if name.startswith(AZURE_WEBJOBS_PREFIX) else [name, AZURE_WEBJOBS_PREFIX + name]
    for candidate in candidates:
        connection_string = _lookup(settings, candidate)
        if connection_string is not None:
            return ConnectionInfo(candidate, connection_string=connection_string)
    for prefix in candidates:
        uri = _lookup(settings, f"{prefix}__queueServiceUri") or _lookup(settings, f"{prefix}__serviceUri")
        account = _lookup(settings, f"{prefix}__accountName")
        if uri is None and account is not None:
            uri = f"https://{account}.queue.core.windows.net"
        if uri is None:
            continue
        credential = _lookup(settings, f"{prefix}__credential")
        return ConnectionInfo(
            prefix, service_uri=uri,
            credential=credential.strip().lower() if credential else None,
            client_id=_lookup(settings, f"{prefix}__clientId"),
            tenant_id=_lookup(settings, f"{prefix}__tenantId"),
            client_secret=_lookup(settings, f"{prefix}__clientSecret"),
        )
    raise StartupError(
        f"connection '{name}' is not configured: set the app setting '{name}' to a connection string "
        f"(e.g. UseDevelopmentStorage=true) or '{name}__queueServiceUri' for an identity-based connection")


class QueueConnections:
    """One async QueueServiceClient per connection name; closes them and their credentials."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self._settings = settings
        self._clients: dict[str, QueueServiceClient] = {}
        self._credentials: list[object] = []

    def info(self, name: str) -> ConnectionInfo:
        return resolve_connection(name, self._settings)

    def service_client(self, name: str) -> QueueServiceClient:
        if name in self._clients:
            return self._clients[name]
        info = self.info(name)
        if info.connection_string is not None:
            try:
                client = QueueServiceClient.from_connection_string(info.connection_string, **CLIENT_OPTIONS)
            except ValueError as exc:
                raise StartupError(f"connection '{info.name}': invalid connection string: {exc}") from exc
        else:
            assert info.service_uri is not None
            client = QueueServiceClient(info.service_uri, credential=self._credential(info), **CLIENT_OPTIONS)
        self._clients[name] = client
        return client

    def _credential(self, info: ConnectionInfo) -> object:
        from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential

        credential: object
        if info.credential == "managedidentity":
            credential = ManagedIdentityCredential(client_id=info.client_id)
        elif info.tenant_id and info.client_id and info.client_secret:
            credential = ClientSecretCredential(info.tenant_id, info.client_id, info.client_secret)
        else:
            credential = DefaultAzureCredential()
        self._credentials.append(credential)
        return credential

    async def close(self) -> None:
        for client in self._clients.values():
            try:
                await client.close()
            except Exception:
                log.debug("closing a queue service client failed", exc_info=True)
        for credential in self._credentials:
            close = getattr(credential, "close", None)
            if close is not None:
                try:
                    await close()
                except Exception:
                    log.debug("closing a credential failed", exc_info=True)
        self._clients.clear()
        self._credentials.clear()

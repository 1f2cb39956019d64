"""With identity-based storage settings the app starts, and says which setting or role is missing."""

from __future__ import annotations

import pytest

from devstack.azurite import DEV_ACCOUNT
from devstack.ports import free_port
from shared.app_context import AppContext
from shared.settings import load_settings
from shared.storage_clients import StorageCredentialError


async def test_identity_settings_load_and_a_missing_credential_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # Azure's managed identity endpoint, here on a loopback port where nothing listens: no token to be had.
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{free_port()}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "local-test")
    # Token credentials need HTTPS; the credential fails before any storage request is made.
    storage = f"https://127.0.0.1:{free_port()}/{DEV_ACCOUNT}"
    env = {
        "AzureWebJobsStorage__blobServiceUri": storage,
        "AzureWebJobsStorage__queueServiceUri": storage,
        "AzureWebJobsStorage__tableServiceUri": storage,
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
    }
    settings = load_settings(env)  # start-up: settings are complete, nothing needs a credential yet
    assert settings.storage.connection_string is None
    with pytest.raises(StorageCredentialError) as info:
        await AppContext.create(settings)
    message = str(info.value)
    for expected in ("AzureWebJobsStorage__clientId", "Storage Blob Data Owner", "Storage Queue Data Contributor",
                     "Storage Table Data Contributor"):
        assert expected in message

"""App settings that point the app at the sandbox upstreams with the sandbox's default accounts."""

from __future__ import annotations

from shared.settings import STORAGE_RESOURCES

SANDBOX_TENANT = "sandbox"


def sandbox_settings(sandbox_url: str) -> dict[str, str]:
    names = {setting: name for kind in STORAGE_RESOURCES.values() for setting, name in kind.items()}
    return {
        "INQUBA_TOKEN_URL": f"{sandbox_url}/{{tenant}}/connect/token",
        "INQUBA_API_URL": f"{sandbox_url}/tenants/{{tenant}}/cems/api",
        "INQUBA_TENANT": SANDBOX_TENANT,
        "INQUBA_TOKEN_HOST": "sandbox.inqubacx.com",
        "INQUBA_USERNAME": "sandbox-user",
        "INQUBA_PASSWORD": "sandbox-password",
        "INQUBA_CLIENT_ID": "sandbox-client",
        "INQUBA_CLIENT_SECRET": "sandbox-secret",
        "INSIDER_API_URL": f"{sandbox_url}/api",
        "INSIDER_PARTNER_NAME": "sandboxpartner",
        "INSIDER_API_KEY": "sandbox-insider-key",
        **names,
    }

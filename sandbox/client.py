"""Synchronous client of the sandbox's `/_control` routes, plus the URLs the app is configured with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class SandboxControl:
    """Drive a running sandbox: `SandboxControl("http://127.0.0.1:PORT")`."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=f"{self.base_url}/_control", timeout=timeout)

    # URLs for the app's settings -------------------------------------------------------------
    def inquba_token_url(self, tenant: str = "sandbox") -> str:
        """Value for INQUBA_TOKEN_URL."""
        return f"{self.base_url}/{tenant}/connect/token"

    def inquba_api_url(self, tenant: str = "sandbox") -> str:
        """Value for INQUBA_API_URL (Events and Transactions live below it)."""
        return f"{self.base_url}/tenants/{tenant}/cems/api"

    def insider_api_url(self) -> str:
        """Value for INSIDER_API_URL (`{it}/user/v1/upsert`, `{it}/user/v1/delete`, `{it}/contact/v1/anonymize`, …)."""
        return f"{self.base_url}/api"

    # Controls ------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SandboxControlError(response.status_code, response.text)
        return response.json()

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Partial config update (keys as in SandboxConfig); returns the whole resulting config."""
        return self._call("POST", "/config", json=settings)

    def set_rate_limits(
        self, limits: Mapping[str, int | None], *, window_seconds: float | None = None
    ) -> dict[str, int | None]:
        """Limit the fault targets named (`None`: unlimited; the others keep theirs) to so many
        requests per window, and set the window's length if given (60 s by default). A 429 carries
        `Retry-After`: the larger of `retry_after_seconds` and the seconds until a slot frees.
        Returns every target's limit."""
        settings: dict[str, Any] = {"rate_limit_per_minute": dict(limits)}
        if window_seconds is not None:
            settings["rate_limit_window_seconds"] = window_seconds
        return self.configure(**settings)["rate_limit_per_minute"]

    def insider_upsert_reply(
        self, kind: str | None, *, count: int | None = None, rate: float | None = None, apply: bool = False
    ) -> dict[str, Any] | None:
        """Answer the next `count` upserts (default 1), or a `rate` of them, with the odd 200 `kind`.

        Kinds: sandbox.insider_replies.UPSERT_REPLY_KINDS. Only upserts that would be answered 200
        count; `apply` says whether their valid users are applied anyway. `kind=None` turns it off.
        Returns the setting now in force (`count` is what is left).
        """
        value = None if kind is None else {"kind": kind, "count": count, "rate": rate, "apply": apply}
        return self.configure(insider_upsert_reply=value)["insider_upsert_reply"]

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/config")

    def reset(self) -> dict[str, Any]:
        """Start-up config again; applied users, request log and counters forgotten (tokens stay valid)."""
        return self._call("POST", "/reset")

    def requests(self, target: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"since": since}
        if target is not None:
            params["target"] = target
        return self._call("GET", "/requests", params=params)

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def expire_tokens(self) -> int:
        """Expire every issued token; returns how many were still valid."""
        return self._call("POST", "/tokens/expire")["expired"]

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def insider_users(self) -> list[dict[str, Any]]:
        return self._call("GET", "/insider/users")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SandboxControlError(RuntimeError):
    """A control call the sandbox refused (e.g. an invalid config value)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"sandbox control answered {status}: {body}")
        self.status = status
        self.body = body

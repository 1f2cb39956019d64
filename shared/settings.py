"""Every app setting, read and validated in one place.

`load_settings` collects every missing or malformed setting into one `SettingsError`, so the app says
all that is wrong at start-up instead of failing on the first request that needs a value.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_INQUBA_TOKEN_URL = "https://{host}/{tenant}/connect/token"
DEFAULT_INQUBA_API_URL = "https://{tenant}.inqubacx.com/cems/api"
DEFAULT_INSIDER_API_URL = "https://unification.useinsider.com/api"

STORAGE_RESOURCES: dict[str, dict[str, str]] = {
    "queues": {
        "INQUBA_EVENTS_QUEUE": "inquba-events",
        "INQUBA_TRANSACTIONS_QUEUE": "inquba-transactions",
        "INSIDER_SYNC_QUEUE": "insider-sync",
        "OUTBOUND_LOG_RETRY_QUEUE": "outbound-log-retry",
    },
    "tables": {
        "OUTBOUND_LOG_TABLE": "outboundlog",
        "DELIVERY_TABLE": "deliveries",
        "BATCH_TABLE": "batchitems",
        "STATS_TABLE": "deliverystats",
        "DEAD_LETTER_TABLE": "deadletters",
    },
    "containers": {
        "TOKEN_CACHE_CONTAINER": "inquba-token-cache",
        "INSIDER_MAPPING_CONTAINER": "insider-mapping",
    },
}

INQUBA_CREDENTIAL_SETTINGS = (
    "INQUBA_TENANT",
    "INQUBA_TOKEN_HOST",
    "INQUBA_USERNAME",
    "INQUBA_PASSWORD",
    "INQUBA_CLIENT_ID",
    "INQUBA_CLIENT_SECRET",
)
INSIDER_CREDENTIAL_SETTINGS = ("INSIDER_PARTNER_NAME", "INSIDER_API_KEY")
STORAGE_SETTINGS = (
    "AzureWebJobsStorage",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
)
OPTIONAL_SETTINGS = ("APPLICATIONINSIGHTS_CONNECTION_STRING",)
# Sign-in of the operations page, name -> default; infra/main.bicep sets both. "entra": trust App
# Service Authentication's X-MS-CLIENT-PRINCIPAL and require membership of the group ID.
OPERATIONS_AUTH_SETTINGS: dict[str, str] = {"OPERATIONS_AUTH": "function-key", "OPERATIONS_ALLOWED_GROUP_ID": ""}


@dataclass(frozen=True)
class Setting:
    """One app setting as the app settings hold it: its default text (None: required, or unset by default).

    Numbers carry their type and least value. The infra checks read this same table (tests/infra), so the
    Bicep's defaults and the code's cannot drift.
    """

    default: str | None = None
    number: type[int] | type[float] | None = None
    minimum: float = 0


def _numbers(**defaults: tuple[str, type[int] | type[float], float]) -> dict[str, Setting]:
    return {name: Setting(default, kind, minimum) for name, (default, kind, minimum) in defaults.items()}


SETTINGS: dict[str, Setting] = {
    "INQUBA_TOKEN_URL": Setting(DEFAULT_INQUBA_TOKEN_URL),
    "INQUBA_API_URL": Setting(DEFAULT_INQUBA_API_URL),
    "INSIDER_API_URL": Setting(DEFAULT_INSIDER_API_URL),
    "INSIDER_ERROR_CALLBACK_URL": Setting(""),
    "INQUBA_ALLOWED_TOKEN_HOSTS": Setting("*.inqubacx.com"),
    **_numbers(
        INQUBA_TOKEN_DEFAULT_LIFETIME_SECONDS=("300", int, 1),
        INQUBA_TOKEN_REFRESH_SKEW_SECONDS=("60", int, 0),
        UPSTREAM_TIMEOUT_SECONDS=("30", float, 0.1),
        UPSTREAM_CONNECT_TIMEOUT_SECONDS=("5", float, 0.1),
        UPSTREAM_MAX_INLINE_RETRY_AFTER_SECONDS=("5", float, 0),
        MAX_REQUEST_BODY_BYTES=("1048576", int, 1024),
        MAX_BATCH_BODY_BYTES=("16777216", int, 1024),
        OUTBOUND_LOG_RETENTION_DAYS=("30", int, 1),
        DELIVERY_MAX_ATTEMPTS=("6", int, 1),
        RETRY_BASE_DELAY_SECONDS=("2", float, 0),
        RETRY_MAX_DELAY_SECONDS=("300", float, 0),
    ),
    **{name: Setting() for name in (*INQUBA_CREDENTIAL_SETTINGS, *INSIDER_CREDENTIAL_SETTINGS)},
    **{name: Setting(default) for name, default in OPERATIONS_AUTH_SETTINGS.items()},
    **{name: Setting(default) for kind in STORAGE_RESOURCES.values() for name, default in kind.items()},
}
OPERATIONS_AUTH_MODES = ("function-key", "entra")
# Set by the platform, never by the Bicep: an App Service / Functions instance has WEBSITE_INSTANCE_ID, and
# WEBSITE_AUTH_ENABLED=True while App Service Authentication runs in front of it (docs/operations.md).
PLATFORM_SETTINGS = ("WEBSITE_INSTANCE_ID", "WEBSITE_AUTH_ENABLED")


class SettingsError(Exception):
    """One or more settings are missing or malformed; `problems` names each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid app settings: " + "; ".join(problems))


class UpstreamNotConfigured(SettingsError):
    """An upstream's settings are absent: its routes answer 503 naming them (shared/web/responses.py)."""

    def __init__(self, upstream: str, settings: str) -> None:
        self.upstream = upstream
        super().__init__([f"{upstream} is not configured: set {settings}"])


@dataclass(frozen=True)
class StorageSettings:
    """Either a connection string (Azurite, shared key) or identity-based service URIs."""

    connection_string: str | None
    blob_service_uri: str | None
    queue_service_uri: str | None
    table_service_uri: str | None
    credential: str | None
    client_id: str | None
    # A proxy variable is set (Azure Functions sets none): only then do the storage clients read proxy settings,
    # which aiohttp otherwise looks up again, with ~/.netrc, in a thread on every request.
    proxy_configured: bool = False


@dataclass(frozen=True)
class InqubaSettings:
    tenant: str
    token_host: str
    username: str
    password: str
    client_id: str
    client_secret: str
    token_url_template: str
    api_url_template: str

    @property
    def token_url(self) -> str:
        return self.token_url_template.format(host=self.token_host, tenant=self.tenant)

    @property
    def api_url(self) -> str:
        return self.api_url_template.format(tenant=self.tenant).rstrip("/")

    def __repr__(self) -> str:  # secrets never reach a log through a repr
        return f"InqubaSettings(tenant={self.tenant!r}, token_host={self.token_host!r}, username=***)"


@dataclass(frozen=True)
class InsiderSettings:
    partner_name: str
    api_key: str
    api_url: str
    # Sent as every upsert's error_callback_endpoint (insider-api.md §1.2); None: the key is not sent.
    error_callback_url: str | None = None

    def __repr__(self) -> str:
        return f"InsiderSettings(partner_name={self.partner_name!r}, api_url={self.api_url!r})"


@dataclass(frozen=True)
class OperationsAccess:
    """Who may use the operations page and the routes it calls (docs/operations.md, "Access").

    `function-key` (default): the host checks the function key on those routes, as on every other one.
    `entra`: those routes are anonymous to the host and the app lets in a request whose App Service
    Authentication principal (`X-MS-CLIENT-PRINCIPAL`) is in `allowed_group_id`.
    """

    mode: str = "function-key"
    allowed_group_id: str | None = None
    in_azure: bool = False  # WEBSITE_INSTANCE_ID is set
    app_service_auth_enabled: bool = False  # WEBSITE_AUTH_ENABLED is true

    @property
    def entra(self) -> bool:
        return self.mode == "entra"


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    inquba: InqubaSettings | None  # None: inQuba is not configured, its routes answer 503
    insider: InsiderSettings | None
    inquba_token_url_template: str
    inquba_api_url_template: str
    inquba_allowed_token_hosts: tuple[str, ...]
    token_default_lifetime_seconds: int
    token_refresh_skew_seconds: int
    upstream_timeout_seconds: float
    upstream_connect_timeout_seconds: float
    upstream_max_inline_retry_after_seconds: float
    max_request_body_bytes: int
    max_batch_body_bytes: int
    outbound_log_retention_days: int
    max_attempts: int
    retry_base_delay_seconds: float
    retry_max_delay_seconds: float
    queues: dict[str, str]
    tables: dict[str, str]
    containers: dict[str, str]
    applicationinsights_connection_string: str | None
    operations: OperationsAccess = OperationsAccess()

    def token_host_allowed(self, host: str) -> bool:
        host = host.lower().strip()
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.inquba_allowed_token_hosts)


class _Reader:
    """Reads typed values from an environment mapping and remembers every problem."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            return default
        return value.strip()

    def number(self, name: str) -> Any:
        """A number setting of `SETTINGS`, its default when unset or wrong (the problem remembered)."""
        setting = SETTINGS[name]
        cast, default = setting.number, setting.default
        if cast is None or default is None:
            raise TypeError(f"{name} is not a number setting")
        raw = self.text(name)
        if raw is None:
            return cast(default)
        try:
            value = cast(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number, got {raw!r}")
            return cast(default)
        if value < setting.minimum:
            self.problems.append(f"{name} must be at least {setting.minimum:g}, got {raw!r}")
            return cast(default)
        return value

    def url_template(self, name: str, default: str, placeholders: set[str]) -> str:
        value = self.text(name, default) or default
        parts = urlsplit(value.replace("{", "").replace("}", ""))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.problems.append(f"{name} must be an http(s) URL, got {value!r}")
        unknown = {p for p in _placeholders(value)} - placeholders
        if unknown:
            self.problems.append(f"{name} has unknown placeholders {sorted(unknown)}; allowed: {sorted(placeholders)}")
        return value

    def https_url(self, name: str) -> str | None:
        """An optional absolute https URL (a host, no white space)."""
        value = self.text(name)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or any(char.isspace() for char in value):
            self.problems.append(f"{name} must be an absolute https URL, got {value!r}")
            return None
        return value

    def group(self, names: tuple[str, ...], label: str) -> dict[str, str] | None:
        """All of `names` or none of them: a partial group is a configuration mistake."""
        values = {name: self.text(name) for name in names}
        present = [n for n, v in values.items() if v]
        if not present:
            return None
        missing = [n for n, v in values.items() if not v]
        if missing:
            self.problems.append(f"{label} is partly configured: missing {', '.join(missing)}")
            return None
        return {n: v for n, v in values.items() if v}


def _placeholders(template: str) -> set[str]:
    import string

    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy")


def _storage(reader: _Reader) -> StorageSettings:
    conn = reader.text("AzureWebJobsStorage")
    account = reader.text("AzureWebJobsStorage__accountName")
    uris = {
        kind: reader.text(f"AzureWebJobsStorage__{kind}ServiceUri")
        or (f"https://{account}.{kind}.core.windows.net" if account else None)
        for kind in ("blob", "queue", "table")
    }
    if not conn:
        missing = [f"AzureWebJobsStorage__{k}ServiceUri" for k, v in uris.items() if not v]
        if missing:
            reader.problems.append(
                "storage is not configured: set AzureWebJobsStorage (a connection string) or "
                "AzureWebJobsStorage__accountName, or " + ", ".join(missing)
            )
    return StorageSettings(
        connection_string=conn,
        blob_service_uri=uris["blob"],
        queue_service_uri=uris["queue"],
        table_service_uri=uris["table"],
        credential=reader.text("AzureWebJobsStorage__credential"),
        client_id=reader.text("AzureWebJobsStorage__clientId"),
        proxy_configured=any(name.lower() in PROXY_VARIABLES and value for name, value in reader.env.items()),
    )


GUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _operations_access(reader: _Reader) -> OperationsAccess:
    mode = (reader.text("OPERATIONS_AUTH", "function-key") or "function-key").lower()
    group = reader.text("OPERATIONS_ALLOWED_GROUP_ID")
    if mode not in OPERATIONS_AUTH_MODES:
        reader.problems.append(f"OPERATIONS_AUTH must be one of {', '.join(OPERATIONS_AUTH_MODES)}, got {mode!r}")
        mode = "function-key"  # the safe reading: the host keeps checking keys
    if group is not None and not GUID_PATTERN.fullmatch(group):
        reader.problems.append("OPERATIONS_ALLOWED_GROUP_ID must be an Entra group's object id (a GUID)")
        group = None
    if mode == "entra" and group is None:
        reader.problems.append("OPERATIONS_AUTH=entra needs OPERATIONS_ALLOWED_GROUP_ID, the allowed group's object id")
    return OperationsAccess(
        mode=mode,
        allowed_group_id=group.lower() if group else None,
        in_azure=reader.text("WEBSITE_INSTANCE_ID") is not None,
        app_service_auth_enabled=(reader.text("WEBSITE_AUTH_ENABLED") or "").lower() == "true",
    )


def operations_access(env: Mapping[str, str]) -> OperationsAccess:
    """The operations access settings alone: `function_app` reads them at indexing to pick the routes' auth level.

    A problem with them is reported by `load_settings`; here it reads as the safe default (keys checked).
    """
    return _operations_access(_Reader(env))


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate every setting; raise one `SettingsError` naming all problems."""
    r = _Reader(env)
    token_template = r.url_template("INQUBA_TOKEN_URL", DEFAULT_INQUBA_TOKEN_URL, {"host", "tenant"})
    api_template = r.url_template("INQUBA_API_URL", DEFAULT_INQUBA_API_URL, {"tenant"})
    insider_url = r.url_template("INSIDER_API_URL", DEFAULT_INSIDER_API_URL, set()).rstrip("/")
    inquba_values = r.group(INQUBA_CREDENTIAL_SETTINGS, "inQuba")
    insider_values = r.group(INSIDER_CREDENTIAL_SETTINGS, "Insider")
    error_callback_url = r.https_url("INSIDER_ERROR_CALLBACK_URL")
    allowed = tuple(
        p.strip().lower() for p in (r.text("INQUBA_ALLOWED_TOKEN_HOSTS", SETTINGS["INQUBA_ALLOWED_TOKEN_HOSTS"].default)
                                    or "").split(",")
        if p.strip()
    )
    inquba = None
    if inquba_values:
        inquba = InqubaSettings(
            tenant=inquba_values["INQUBA_TENANT"],
            token_host=inquba_values["INQUBA_TOKEN_HOST"],
            username=inquba_values["INQUBA_USERNAME"],
            password=inquba_values["INQUBA_PASSWORD"],
            client_id=inquba_values["INQUBA_CLIENT_ID"],
            client_secret=inquba_values["INQUBA_CLIENT_SECRET"],
            token_url_template=token_template,
            api_url_template=api_template,
        )
    insider = None
    if insider_values:
        partner = insider_values["INSIDER_PARTNER_NAME"]
        if partner != partner.lower():
            r.problems.append("INSIDER_PARTNER_NAME must be lowercase (Insider requires it)")
        insider = InsiderSettings(partner_name=partner, api_key=insider_values["INSIDER_API_KEY"], api_url=insider_url,
                                  error_callback_url=error_callback_url)

    def names(kind: str) -> dict[str, str]:
        return {setting: r.text(setting, default) or default for setting, default in STORAGE_RESOURCES[kind].items()}

    settings = Settings(
        storage=_storage(r),
        inquba=inquba,
        insider=insider,
        inquba_token_url_template=token_template,
        inquba_api_url_template=api_template,
        inquba_allowed_token_hosts=allowed,
        token_default_lifetime_seconds=r.number("INQUBA_TOKEN_DEFAULT_LIFETIME_SECONDS"),
        token_refresh_skew_seconds=r.number("INQUBA_TOKEN_REFRESH_SKEW_SECONDS"),
        upstream_timeout_seconds=r.number("UPSTREAM_TIMEOUT_SECONDS"),
        upstream_connect_timeout_seconds=r.number("UPSTREAM_CONNECT_TIMEOUT_SECONDS"),
        upstream_max_inline_retry_after_seconds=r.number("UPSTREAM_MAX_INLINE_RETRY_AFTER_SECONDS"),
        max_request_body_bytes=r.number("MAX_REQUEST_BODY_BYTES"),
        max_batch_body_bytes=r.number("MAX_BATCH_BODY_BYTES"),
        outbound_log_retention_days=r.number("OUTBOUND_LOG_RETENTION_DAYS"),
        max_attempts=r.number("DELIVERY_MAX_ATTEMPTS"),
        retry_base_delay_seconds=r.number("RETRY_BASE_DELAY_SECONDS"),
        retry_max_delay_seconds=r.number("RETRY_MAX_DELAY_SECONDS"),
        queues=names("queues"),
        tables=names("tables"),
        containers=names("containers"),
        applicationinsights_connection_string=r.text("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        operations=_operations_access(r),
    )
    if r.problems:
        raise SettingsError(r.problems)
    return settings


ALL_SETTING_NAMES: frozenset[str] = frozenset(SETTINGS)

from __future__ import annotations

import pytest

from shared.settings import ALL_SETTING_NAMES, SettingsError, load_settings

BASE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
INQUBA = {
    "INQUBA_TENANT": "acme",
    "INQUBA_TOKEN_HOST": "api.inqubacx.com",
    "INQUBA_USERNAME": "u",
    "INQUBA_PASSWORD": "p",
    "INQUBA_CLIENT_ID": "c",
    "INQUBA_CLIENT_SECRET": "s",
}


def test_defaults_build_the_documented_urls() -> None:
    settings = load_settings({**BASE, **INQUBA})
    assert settings.inquba is not None
    assert settings.inquba.token_url == "https://api.inqubacx.com/acme/connect/token"
    assert settings.inquba.api_url == "https://acme.inqubacx.com/cems/api"
    assert settings.insider is None
    assert settings.queues["INQUBA_EVENTS_QUEUE"] == "inquba-events"


def test_every_problem_is_named_at_once() -> None:
    env = {
        "INQUBA_TENANT": "acme",
        "UPSTREAM_TIMEOUT_SECONDS": "soon",
        "INQUBA_TOKEN_URL": "ftp://x/{nope}",
        "INSIDER_PARTNER_NAME": "Brand",
        "INSIDER_API_KEY": "k",
    }
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    text = str(info.value)
    for expected in (
        "storage is not configured",
        "inQuba is partly configured: missing INQUBA_TOKEN_HOST",
        "UPSTREAM_TIMEOUT_SECONDS must be a number",
        "INQUBA_TOKEN_URL must be an http(s) URL",
        "unknown placeholders ['nope']",
        "INSIDER_PARTNER_NAME must be lowercase",
    ):
        assert expected in text


def test_identity_based_storage_from_account_name() -> None:
    settings = load_settings(
        {"AzureWebJobsStorage__accountName": "acct", "AzureWebJobsStorage__credential": "managedidentity"}
    )
    assert settings.storage.connection_string is None
    assert settings.storage.queue_service_uri == "https://acct.queue.core.windows.net"


def test_storage_reads_proxy_settings_only_when_a_proxy_variable_is_set() -> None:
    assert load_settings(BASE).storage.proxy_configured is False
    assert load_settings({**BASE, "NO_PROXY": "localhost", "HTTPS_PROXY": ""}).storage.proxy_configured is False
    assert load_settings({**BASE, "https_proxy": "http://proxy:3128"}).storage.proxy_configured is True
    assert load_settings({**BASE, "HTTPS_PROXY": "http://proxy:3128"}).storage.proxy_configured is True


def test_secrets_stay_out_of_reprs() -> None:
    settings = load_settings({**BASE, **INQUBA, "INQUBA_PASSWORD": "canary-password-123"})
    assert "canary-password-123" not in repr(settings)


def test_allowed_token_hosts_are_glob_patterns() -> None:
    settings = load_settings({**BASE, "INQUBA_ALLOWED_TOKEN_HOSTS": "*.inqubacx.com, login.example.org"})
    assert settings.token_host_allowed("api.inqubacx.com")
    assert settings.token_host_allowed("LOGIN.example.org")
    assert not settings.token_host_allowed("inqubacx.com.evil.net")
    assert not settings.token_host_allowed("169.254.169.254")


def test_setting_names_cover_the_storage_resources() -> None:
    assert {"INQUBA_EVENTS_QUEUE", "OUTBOUND_LOG_TABLE", "TOKEN_CACHE_CONTAINER"} <= ALL_SETTING_NAMES


def test_insider_error_callback_url_is_an_optional_absolute_https_url() -> None:
    insider = {"INSIDER_PARTNER_NAME": "brand", "INSIDER_API_KEY": "k"}
    settings = load_settings({**BASE, **insider})
    assert settings.insider is not None and settings.insider.error_callback_url is None
    url = "https://hooks.example.com/insider/errors?key=1"
    settings = load_settings({**BASE, **insider, "INSIDER_ERROR_CALLBACK_URL": f" {url} "})
    assert settings.insider is not None and settings.insider.error_callback_url == url
    for bad in ("http://hooks.example.com/x", "/insider/errors", "https://", "https://hooks.example.com/a b"):
        with pytest.raises(SettingsError) as info:
            load_settings({**BASE, **insider, "INSIDER_ERROR_CALLBACK_URL": bad})
        assert info.value.problems == [f"INSIDER_ERROR_CALLBACK_URL must be an absolute https URL, got {bad!r}"]

"""Who may call the operations routes (shared/operations/access.py): the settings, the principal, failing closed."""

from __future__ import annotations

import base64
import json

import pytest

from shared.operations.access import authorize, principal_groups
from shared.settings import SettingsError, load_settings, operations_access
from shared.web.problems import Problem

GROUP = "6c1b1e5e-7f7a-4d0c-9d55-3f4a2b1c0d9e"
STORAGE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def principal(*claims: tuple[str, str]) -> str:
    body = {"auth_typ": "aad", "claims": [{"typ": t, "val": v} for t, v in claims]}
    return base64.b64encode(json.dumps(body).encode()).decode()


def status(access: object, headers: dict[str, str]) -> int:
    try:
        authorize(access, headers)  # type: ignore[arg-type]
    except Problem as problem:
        return problem.status
    return 200


def test_function_key_mode_leaves_it_to_the_host_and_ignores_the_header() -> None:
    access = operations_access({})
    assert (access.mode, access.entra) == ("function-key", False)
    assert status(access, {}) == 200  # the host has already checked the key
    assert status(access, {"x-ms-client-principal": "forged"}) == 200


def test_entra_mode_lets_in_the_allowed_group_only() -> None:
    access = operations_access({"OPERATIONS_AUTH": "Entra", "OPERATIONS_ALLOWED_GROUP_ID": GROUP.upper()})
    assert access.entra and access.allowed_group_id == GROUP
    member = principal(("name", "Ada"), ("groups", "00000000-0000-0000-0000-000000000001"), ("groups", GROUP))
    assert status(access, {"x-ms-client-principal": member}) == 200
    long_form = principal(("http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", GROUP.upper()))
    assert status(access, {"x-ms-client-principal": long_form}) == 200
    assert status(access, {"x-ms-client-principal": principal(("roles", GROUP))}) == 403
    assert status(access, {}) == 401
    assert status(access, {"x-functions-key": "any"}) == 401  # a key cannot be checked by the app
    for junk in ("not base64!", base64.b64encode(b"[1]").decode(), base64.b64encode(b'{"claims": 3}').decode()):
        assert status(access, {"x-ms-client-principal": junk}) == 401
    assert principal_groups(member) == {"00000000-0000-0000-0000-000000000001", GROUP}


def test_entra_mode_in_azure_without_app_service_authentication_trusts_no_header() -> None:
    env = {"OPERATIONS_AUTH": "entra", "OPERATIONS_ALLOWED_GROUP_ID": GROUP, "WEBSITE_INSTANCE_ID": "abc"}
    member = {"x-ms-client-principal": principal(("groups", GROUP))}
    assert status(operations_access(env), member) == 503
    assert status(operations_access({**env, "WEBSITE_AUTH_ENABLED": "True"}), member) == 200


def test_entra_without_a_group_and_unknown_modes_are_settings_errors_and_fail_closed() -> None:
    with pytest.raises(SettingsError, match="OPERATIONS_AUTH=entra needs OPERATIONS_ALLOWED_GROUP_ID"):
        load_settings({**STORAGE, "OPERATIONS_AUTH": "entra"})
    assert status(operations_access({"OPERATIONS_AUTH": "entra"}), {"x-ms-client-principal": principal()}) == 503
    with pytest.raises(SettingsError, match="OPERATIONS_AUTH must be one of function-key, entra"):
        load_settings({**STORAGE, "OPERATIONS_AUTH": "open"})
    assert operations_access({"OPERATIONS_AUTH": "open"}).mode == "function-key"  # keys stay checked
    with pytest.raises(SettingsError, match="OPERATIONS_ALLOWED_GROUP_ID must be an Entra group's object id"):
        load_settings({**STORAGE, "OPERATIONS_ALLOWED_GROUP_ID": "admins"})
    assert load_settings({**STORAGE, "OPERATIONS_AUTH": "entra", "OPERATIONS_ALLOWED_GROUP_ID": GROUP}).operations.entra

"""Offline checks of the deployment: infra/ (Bicep), infra/main.bicepparam and scripts/deploy.sh.

There is no Bicep CLI and no Azure here, so:
* every .bicep file is parsed with pycep (tests/infra/bicep_to_json.py, run by the interpreter of
  the separate `.venv-infra`, since pycep-parser and checkov pin their own dependencies) and the
  parsed templates are walked for the security and wiring properties below;
* checkov runs its Azure policies over the Bicep (`--skip-download`, no network);
* shellcheck lints scripts/deploy.sh, and the script runs end to end against a fake `az`.

`.venv-infra` is built by the Makefile (python3 -m venv .venv-infra &&
.venv-infra/bin/pip install -r requirements-infra.txt); only its absence skips the Bicep tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from shared.settings import ALL_SETTING_NAMES, STORAGE_RESOURCES

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
PARAM_FILE = INFRA / "main.bicepparam"
SKIPS_DOC = INFRA / "checkov-skips.md"
DEPLOY_SCRIPT = ROOT / "scripts" / "deploy.sh"
VENV = ROOT / ".venv-infra"
VENV_PYTHON = VENV / "bin" / "python"
CHECKOV = VENV / "bin" / "checkov"
BICEP_TO_JSON = Path(__file__).with_name("bicep_to_json.py")

# ---------------------------------------------------------------------------------------------
# What the app code reads. ONE place.
# The names come from shared.settings (ALL_SETTING_NAMES, STORAGE_RESOURCES); this table adds each
# setting's default, and test_expected_settings_are_the_codes_settings keeps the two in step.
# Values: the code's default (None = required, no default). "{host}"/"{tenant}" stand for
# INQUBA_TOKEN_HOST / INQUBA_TENANT.
# ---------------------------------------------------------------------------------------------
EXPECTED_SETTINGS: dict[str, str | None] = {
    "INQUBA_TOKEN_URL": "https://{host}/{tenant}/connect/token",
    "INQUBA_API_URL": "https://{tenant}.inqubacx.com/cems/api",
    "INQUBA_TOKEN_HOST": None,
    "INQUBA_TENANT": None,
    "INQUBA_USERNAME": None,
    "INQUBA_PASSWORD": None,
    "INQUBA_CLIENT_ID": None,
    "INQUBA_CLIENT_SECRET": None,
    "INQUBA_ALLOWED_TOKEN_HOSTS": "*.inqubacx.com",
    "INQUBA_TOKEN_DEFAULT_LIFETIME_SECONDS": "300",
    "INQUBA_TOKEN_REFRESH_SKEW_SECONDS": "60",
    "INSIDER_API_URL": "https://unification.useinsider.com/api",
    "INSIDER_PARTNER_NAME": None,
    "INSIDER_API_KEY": None,
    "INSIDER_ERROR_CALLBACK_URL": "",
    "UPSTREAM_TIMEOUT_SECONDS": "30",
    "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "5",
    "UPSTREAM_MAX_INLINE_RETRY_AFTER_SECONDS": "5",
    "MAX_REQUEST_BODY_BYTES": "1048576",
    "MAX_BATCH_BODY_BYTES": "16777216",
    "DELIVERY_MAX_ATTEMPTS": "6",
    "RETRY_BASE_DELAY_SECONDS": "2",
    "RETRY_MAX_DELAY_SECONDS": "300",
    "INQUBA_EVENTS_QUEUE": "inquba-events",
    "INQUBA_TRANSACTIONS_QUEUE": "inquba-transactions",
    "INSIDER_SYNC_QUEUE": "insider-sync",
    "OUTBOUND_LOG_RETRY_QUEUE": "outbound-log-retry",
    "OUTBOUND_LOG_TABLE": "outboundlog",
    "DELIVERY_TABLE": "deliveries",
    "BATCH_TABLE": "batchitems",
    "TOKEN_CACHE_CONTAINER": "inquba-token-cache",
    "INSIDER_MAPPING_CONTAINER": "insider-mapping",
    "OUTBOUND_LOG_RETENTION_DAYS": "30",
}
EXPECTED_STORAGE_RESOURCES: dict[str, Any] = {
    "queues": ("inquba-events", "inquba-transactions", "insider-sync", "outbound-log-retry"),
    "tables": ("outboundlog", "deliveries", "batchitems"),
    "containers": ("inquba-token-cache", "insider-mapping"),
}


def test_expected_settings_are_the_codes_settings() -> None:
    assert frozenset(EXPECTED_SETTINGS) == ALL_SETTING_NAMES
    assert {kind: set(names) for kind, names in EXPECTED_STORAGE_RESOURCES.items()} == {
        kind: set(names.values()) for kind, names in STORAGE_RESOURCES.items()
    }


# Settings held in Key Vault: setting -> vault secret name.
VAULT_SECRETS = {
    "INQUBA_PASSWORD": "inquba-password",
    "INQUBA_CLIENT_SECRET": "inquba-client-secret",
    "INSIDER_API_KEY": "insider-api-key",
}
SECURE_PARAMS = ("inqubaPassword", "inqubaClientSecret", "insiderApiKey")

ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}
ROLE_SCOPES = {
    "Storage Blob Data Owner": "Microsoft.Storage/storageAccounts",
    "Storage Queue Data Contributor": "Microsoft.Storage/storageAccounts",
    "Storage Table Data Contributor": "Microsoft.Storage/storageAccounts",
    "Monitoring Metrics Publisher": "Microsoft.Insights/components",
    "Key Vault Secrets User": "Microsoft.KeyVault/vaults",
}
EXPECTED_FILES = {
    "main.bicep",
    "app/identity.bicep",
    "app/storage.bicep",
    "app/monitoring.bicep",
    "app/keyvault.bicep",
    "app/rbac.bicep",
    "app/plan.bicep",
    "app/api.bicep",
}


def _names(value: Any) -> set[str]:
    """Names from a STORAGE_RESOURCES entry, whether a mapping (setting -> name) or a sequence."""
    return set(value.values()) if isinstance(value, Mapping) else set(value)


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------


def _require_infra_venv() -> None:
    if not VENV_PYTHON.exists():
        pytest.skip(
            ".venv-infra is missing (the Makefile builds it: python3 -m venv .venv-infra && "
            ".venv-infra/bin/pip install -r requirements-infra.txt)"
        )


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict]:
    _require_infra_venv()
    proc = subprocess.run(
        [str(VENV_PYTHON), str(BICEP_TO_JSON), str(INFRA)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def templates(parsed: dict[str, dict]) -> dict[str, dict]:
    broken = {name: entry["error"] for name, entry in parsed.items() if "error" in entry}
    assert not broken, f"Bicep files that do not parse: {broken}"
    return {name: entry["template"] for name, entry in parsed.items()}


def _unwrap(config: dict) -> tuple[dict, Any, Any]:
    """pycep nests the body of a looped or conditional resource/module: return (body, condition, loop)."""
    if "loop_type" in config:
        return config["config"], config.get("condition"), config["loop_type"]
    if set(config) == {"condition", "config"}:
        return config["config"], config["condition"], None
    return config, None, None


def _resources(template: dict) -> dict[str, dict]:
    out = {}
    for name, res in (template.get("resources") or {}).items():
        body, condition, loop = _unwrap(res["config"])
        out[name] = {
            "type": res["type"],
            "existing": res["existing"],
            "body": body,
            "condition": condition,
            "loop": loop,
        }
    return out


def _of_type(template: dict, type_: str, *, existing: bool = False) -> dict[str, dict]:
    return {n: r for n, r in _resources(template).items() if r["type"] == type_ and r["existing"] == existing}


def _one(template: dict, type_: str) -> dict:
    found = _of_type(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.values()))["body"]


def _var(template: dict, name: str) -> Any:
    return template["variables"][name]["value"]


def _decorators(param: dict) -> dict[str, Any]:
    return {d["type"]: d.get("argument") for d in param.get("decorators", [])}


def _module_params(template: dict, module: str) -> dict:
    body, _, _ = _unwrap(template["modules"][module]["config"])
    return body["params"]


def _accessor(*path: str) -> Any:
    """pycep's form of a dotted access such as identity.outputs.id."""
    if len(path) == 1:
        return path[0]
    operands = {"operand_1": path[0], "operand_2": _accessor(*path[1:])}
    return {"operator": {"type": "property_accessor", "operands": operands}}


def _not_empty(param: str) -> dict:
    """pycep's form of !empty(param)."""
    return {
        "operator": {
            "type": "not",
            "operands": {"bool_value": {"function": {"type": "empty", "parameters": {"item_to_test": param}}}},
        }
    }


def _function(expr: Any, type_: str) -> dict | None:
    if isinstance(expr, dict) and isinstance(expr.get("function"), dict) and expr["function"].get("type") == type_:
        return expr["function"]
    return None


def _union_args(expr: Any) -> list[Any]:
    fn = _function(expr, "union")
    assert fn, f"expected union(...), got {expr!r}"
    return list(fn["parameters"].values())


def _object_keys(template: dict, expr: Any) -> set[str]:
    """Keys of an object expression: a literal, a variable, or union(...) of those."""
    if isinstance(expr, str):
        return _object_keys(template, _var(template, expr))
    if _function(expr, "union"):
        keys: set[str] = set()
        for arg in _union_args(expr):
            keys |= _object_keys(template, arg)
        return keys
    assert isinstance(expr, dict) and "function" not in expr and "operator" not in expr, expr
    return set(expr)


def _bicep_sources() -> dict[str, str]:
    return {p.relative_to(INFRA).as_posix(): p.read_text(encoding="utf-8") for p in sorted(INFRA.rglob("*.bicep"))}


def _param_default(template: dict, expr: Any) -> Any:
    """Default of the main.bicep parameter an app-setting expression reads (through string())."""
    fn = _function(expr, "string")
    if fn:
        expr = fn["parameters"]["value_to_convert"]
    assert isinstance(expr, str) and expr in template["parameters"], f"not a parameter reference: {expr!r}"
    return template["parameters"][expr].get("default")


# ---------------------------------------------------------------------------------------------
# Parsing and layout
# ---------------------------------------------------------------------------------------------


def test_every_bicep_file_parses(parsed: dict[str, dict]) -> None:
    broken = {name: entry["error"] for name, entry in parsed.items() if "error" in entry}
    assert not broken, f"Bicep files that do not parse: {broken}"
    assert set(parsed) >= EXPECTED_FILES, f"missing modules: {EXPECTED_FILES - set(parsed)}"


def test_main_is_resource_group_scope_built_from_local_modules(templates: dict[str, dict]) -> None:
    main = templates["main.bicep"]
    assert main["globals"]["scope"]["value"] == "resourceGroup"
    used = set()
    for name, module in main["modules"].items():
        assert module["type"] == "local", f"module {name} is not a local module: {module['detail']}"
        path = module["detail"]["path"]
        assert (INFRA / path).is_file(), f"module {name}: {path} does not exist"
        used.add(path)
    assert used == EXPECTED_FILES - {"main.bicep"}
    for file, text in _bicep_sources().items():
        assert not re.search(r"""['"](br|ts)[:/]""", text), f"{file} uses a registry/template-spec module"


# ---------------------------------------------------------------------------------------------
# Storage, Flex Consumption, host storage identity
# ---------------------------------------------------------------------------------------------


def test_storage_account_is_locked_down(templates: dict[str, dict]) -> None:
    accounts = {
        (file, name): res["body"]
        for file, tpl in templates.items()
        for name, res in _of_type(tpl, "Microsoft.Storage/storageAccounts").items()
    }
    assert list(accounts) == [("app/storage.bicep", "storage")]
    props = accounts["app/storage.bicep", "storage"]["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props.get("defaultToOAuthAuthentication") is True
    containers = _of_type(templates["app/storage.bicep"], "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert containers and all(c["body"]["properties"]["publicAccess"] == "None" for c in containers.values())


def test_flex_consumption_plan(templates: dict[str, dict]) -> None:
    plan = _one(templates["app/plan.bicep"], "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True


def test_function_app_site(templates: dict[str, dict]) -> None:
    api = templates["app/api.bicep"]
    main = templates["main.bicep"]
    site = _one(api, "Microsoft.Web/sites")
    props = site["properties"]
    assert site["kind"] == "functionapp,linux"
    # pycep keeps the quotes of an interpolated object key.
    assert site["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {"'${identityId}'": {}}}
    assert props["httpsOnly"] is True
    assert props["keyVaultReferenceIdentity"] == "identityId"
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"

    config = props["functionAppConfig"]
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"].endswith("/${deploymentContainerName}")
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    assert config["scaleAndConcurrency"] == {
        "instanceMemoryMB": "instanceMemoryMB",
        "maximumInstanceCount": "maximumInstanceCount",
    }
    assert config["runtime"] == {"name": "python", "version": "runtimeVersion"}

    params = _module_params(main, "api")
    assert params["instanceMemoryMB"] == "instanceMemoryMB" and "instanceMemoryMB" in main["parameters"]
    assert params["maximumInstanceCount"] == "maximumInstanceCount" and "maximumInstanceCount" in main["parameters"]
    assert params["runtimeVersion"] == "pythonVersion"
    assert main["parameters"]["pythonVersion"]["default"] == "3.11"
    assert params["identityId"] == _accessor("identity", "outputs", "id")
    assert params["identityClientId"] == _accessor("identity", "outputs", "clientId")
    # The deployment container is created in the storage account.
    storage_params = _module_params(main, "storage")
    container_args = _function(storage_params["containerNames"], "concat")["parameters"].values()
    assert ["deploymentContainerName"] in list(container_args)


def test_host_storage_uses_the_managed_identity(templates: dict[str, dict]) -> None:
    host = _var(templates["app/api.bicep"], "hostSettings")
    for service in ("blob", "queue", "table"):
        assert host[f"AzureWebJobsStorage__{service}ServiceUri"].startswith(
            f"https://${{storageAccountName}}.{service}."
        )
    assert host["AzureWebJobsStorage__credential"] == "managedidentity"
    assert host["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert "AzureWebJobsStorage" not in host
    everything = json.dumps(templates)
    for forbidden in ("AccountKey", "listKeys", "SharedAccessSignature", "listAccountSas"):
        assert forbidden not in everything, f"{forbidden} appears in the templates"


# ---------------------------------------------------------------------------------------------
# Role assignments
# ---------------------------------------------------------------------------------------------


def test_role_assignments_have_exact_ids_and_scopes(templates: dict[str, dict]) -> None:
    rbac = templates["app/rbac.bicep"]
    role_vars = {name: v["value"] for name, v in rbac["variables"].items() if isinstance(v["value"], str)}
    scopes = {name: r["type"] for name, r in _resources(rbac).items() if r["existing"]}
    found: dict[tuple[str, str], tuple[str, str]] = {}  # (principal, role id) -> (scope type, name)
    for name, res in _of_type(rbac, "Microsoft.Authorization/roleAssignments").items():
        body = res["body"]
        definition = _function(body["properties"]["roleDefinitionId"], "subscription_resource_id")
        assert definition, f"{name}: roleDefinitionId must be subscriptionResourceId(...)"
        assert definition["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role_var = definition["parameters"]["resource_name_1"]
        role_id = role_vars[role_var]
        principal = body["properties"]["principalId"]
        scope = body["scope"]
        # name = guid(scope.id, principalId, roleId): stable, so redeployments are idempotent.
        guid = _function(body["name"], "guid")
        assert guid, f"{name}: name must be guid(...)"
        assert list(guid["parameters"].values()) == [
            _accessor(scope, "id"),
            principal,
            role_var,
        ], f"{name}: name must be guid({scope}.id, {principal}, {role_var})"
        if principal == "principalId":
            assert body["properties"]["principalType"] == "ServicePrincipal", name
            assert res["condition"] is None, f"{name}: the app's assignments are unconditional"
        else:
            assert principal == "deployerPrincipalId", name
            assert res["condition"] == _not_empty("deployerPrincipalId")
        found[principal, role_id] = (scopes[scope], name)

    for role, role_id in ROLE_IDS.items():
        assert ("principalId", role_id) in found, f"the app identity lacks {role}"
        assert found["principalId", role_id][0] == ROLE_SCOPES[role], f"{role} has the wrong scope"
    assert all(role_id in ROLE_IDS.values() for _, role_id in found), "unexpected role definition"
    assert len([k for k in found if k[0] == "principalId"]) == len(ROLE_IDS)

    main = templates["main.bicep"]
    assert main["parameters"]["deployerPrincipalId"]["default"] == ""
    assert _module_params(main, "rbac")["principalId"] == _accessor("identity", "outputs", "principalId")


# ---------------------------------------------------------------------------------------------
# Key Vault, secrets, outputs, Application Insights
# ---------------------------------------------------------------------------------------------


def test_key_vault_is_rbac_mode_with_soft_delete_and_purge_protection(templates: dict[str, dict]) -> None:
    kv = templates["app/keyvault.bicep"]
    vault = _one(kv, "Microsoft.KeyVault/vaults")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enableSoftDelete"] is True
    assert "accessPolicies" not in vault
    assert vault["enablePurgeProtection"] == {
        "operator": {
            "type": "conditional",
            "operands": {"condition": "enablePurgeProtection", "true_value": True, "false_value": None},
        }
    }
    assert kv["parameters"]["enablePurgeProtection"]["default"] is True
    assert vault["publicNetworkAccess"] == "publicNetworkAccess"

    main = templates["main.bicep"]
    params = _module_params(main, "vault")
    assert params["enablePurgeProtection"] == "vaultPurgeProtection"
    assert main["parameters"]["vaultPurgeProtection"]["default"] is True
    assert params["publicNetworkAccess"] == "vaultPublicNetworkAccess"
    assert _decorators(main["parameters"]["vaultPublicNetworkAccess"])["allowed"] == ["Enabled", "Disabled"]


def test_secrets_are_stored_in_key_vault_from_secure_parameters(templates: dict[str, dict]) -> None:
    main, kv = templates["main.bicep"], templates["app/keyvault.bicep"]
    assert _var(main, "vaultSecretNames") == VAULT_SECRETS
    assert _module_params(main, "vault")["secretNames"] == "vaultSecretNames"
    secrets = {
        res["body"]["name"]["operator"]["operands"]["operand_2"]: res["body"]["properties"]["value"]
        for res in _of_type(kv, "Microsoft.KeyVault/vaults/secrets").values()
    }
    assert secrets == dict(zip(VAULT_SECRETS, SECURE_PARAMS, strict=True))
    for tpl in (main, kv):
        for name in SECURE_PARAMS:
            param = tpl["parameters"][name]
            assert "secure" in _decorators(param), f"{name} must be @secure()"
            assert param.get("default") is None, f"{name} must have no default"
    for name in SECURE_PARAMS:
        assert _module_params(main, "vault")[name] == name
    # Every parameter that looks like a credential is @secure(), in every file.
    for file, tpl in templates.items():
        for name, param in (tpl.get("parameters") or {}).items():
            if re.search(r"password|secret(?!names)|apikey", name, re.IGNORECASE):
                assert "secure" in _decorators(param), f"{file}: parameter {name} must be @secure()"


def test_app_settings_reference_key_vault_for_the_three_secrets(templates: dict[str, dict]) -> None:
    main = templates["main.bicep"]
    refs = _var(main, "vaultReferences")
    assert set(refs) == set(VAULT_SECRETS)
    for setting in VAULT_SECRETS:
        assert refs[setting] == (
            f"@Microsoft.KeyVault(SecretUri=${{vault.outputs.vaultUri}}secrets/${{vaultSecretNames.{setting}}}/)"
        )
    assert "vaultReferences" in _union_args(_var(main, "appSettings"))
    # No secret parameter reaches an app setting directly.
    assert not set(SECURE_PARAMS) & set(json.dumps(_var(main, "configSettings")).split('"'))


def test_no_output_exposes_a_secret(templates: dict[str, dict]) -> None:
    pattern = re.compile(r"secret|password|key", re.IGNORECASE)
    for file, tpl in templates.items():
        for name, output in (tpl.get("outputs") or {}).items():
            assert not pattern.search(name), f"{file}: output {name}"
            assert not pattern.search(json.dumps(output["value"])), f"{file}: output {name} = {output['value']}"
            assert "secure" not in _decorators(output)
    assert {"functionAppName", "functionAppBaseUrl", "resourceGroupName"} <= set(templates["main.bicep"]["outputs"])
    assert (
        templates["main.bicep"]["outputs"]["functionAppBaseUrl"]["value"]
        == "https://${api.outputs.defaultHostName}/api"
    )


def test_application_insights_uses_entra_auth_only(templates: dict[str, dict]) -> None:
    monitoring = templates["app/monitoring.bicep"]
    component = _one(monitoring, "Microsoft.Insights/components")["properties"]
    assert component["DisableLocalAuth"] is True
    assert component["WorkspaceResourceId"] == _accessor("workspace", "id")
    api = templates["app/api.bicep"]
    assert _var(api, "hostSettings")["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )
    extra = _function(_one(api, "Microsoft.Web/sites")["properties"]["siteConfig"]["appSettings"], "concat")
    literal = [entry for arg in extra["parameters"].values() if isinstance(arg, list) for entry in arg]
    assert [e["name"] for e in literal] == ["APPLICATIONINSIGHTS_CONNECTION_STRING"]


# ---------------------------------------------------------------------------------------------
# Cross-check with the settings the code reads
# ---------------------------------------------------------------------------------------------


def _all_app_setting_names(templates: dict[str, dict]) -> set[str]:
    main, api = templates["main.bicep"], templates["app/api.bicep"]
    assert _module_params(main, "api")["appSettings"] == "appSettings"
    site_settings = _function(_one(api, "Microsoft.Web/sites")["properties"]["siteConfig"]["appSettings"], "concat")
    args = list(site_settings["parameters"].values())
    assert args[0] == "settingsList"
    loop = api["variables"]["settingsList"]["value"]["loop_type"]
    # pycep renders the iterated expression as text: it must be union(appSettings, hostSettings).
    assert "'arg_1': 'appSettings', 'arg_2': 'hostSettings'" in loop["detail"]["object_name"], loop
    names = _object_keys(main, "appSettings") | _object_keys(api, "hostSettings")
    names |= {entry["name"] for arg in args[1:] for entry in arg}
    return names


def test_every_setting_the_code_reads_is_set(templates: dict[str, dict]) -> None:
    names = _all_app_setting_names(templates)
    missing = ALL_SETTING_NAMES - names
    assert not missing, f"app settings the code reads but the Bicep does not set: {sorted(missing)}"
    # Flex Consumption takes the runtime from functionAppConfig; these must not be set.
    assert not names & {
        "FUNCTIONS_WORKER_RUNTIME",
        "WEBSITE_RUN_FROM_PACKAGE",
        "FUNCTIONS_EXTENSION_VERSION",
        "AzureWebJobsStorage",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    }


def test_setting_values_default_to_the_code_defaults(templates: dict[str, dict]) -> None:
    main = templates["main.bicep"]
    values = {}
    for var in ("configSettings", "queueSettings", "tableSettings", "containerSettings"):
        values.update(_var(main, var))
    placeholders = {"{host}": "${inqubaTokenHost}", "{tenant}": "${inqubaTenant}"}
    literals = _bicepparam_assignments()
    for setting, default in EXPECTED_SETTINGS.items():
        if setting in VAULT_SECRETS or default is None:
            continue
        expr = values[setting]
        if isinstance(expr, dict) and expr.get("operator", {}).get("type") == "conditional":
            # An empty override parameter falls back to the code's URL template, filled in.
            expected = default
            for placeholder, interpolation in placeholders.items():
                expected = expected.replace(placeholder, interpolation)
            assert expr["operator"]["operands"]["true_value"] == expected, setting
            continue
        if setting.endswith(("_QUEUE", "_TABLE", "_CONTAINER")):
            assert expr == default, f"{setting}: {expr!r} != {default!r}"
            continue
        assert str(_param_default(main, expr)) == default, f"{setting}: Bicep default differs from the code"
        param = _function(expr, "string")["parameters"]["value_to_convert"] if _function(expr, "string") else expr
        if param in literals and not literals[param].startswith("readEnvironmentVariable("):
            assert literals[param].strip("'") == default, f"{setting}: main.bicepparam differs from the code"


def test_every_queue_table_and_container_is_created(templates: dict[str, dict]) -> None:
    main, storage = templates["main.bicep"], templates["app/storage.bicep"]
    # Names are defined once (keyed by their app setting) and fed to the storage module from there.
    defined = {
        "queues": set(_var(main, "queueSettings").values()),
        "tables": set(_var(main, "tableSettings").values()),
        "containers": set(_var(main, "containerSettings").values()),
    }
    for kind in ("queues", "tables", "containers"):
        missing = _names(STORAGE_RESOURCES[kind]) - defined[kind]
        assert not missing, f"{kind} the code uses but the Bicep does not create: {sorted(missing)}"
    for var, source in (
        ("queueNames", "queueSettings"),
        ("tableNames", "tableSettings"),
        ("appContainerNames", "containerSettings"),
    ):
        assert _var(main, var)["loop_type"]["detail"]["object_name"] == source
    params = _module_params(main, "storage")
    assert params["queueNames"] == "queueNames" and params["tableNames"] == "tableNames"
    assert list(_function(params["containerNames"], "concat")["parameters"].values()) == [
        ["deploymentContainerName"],
        "appContainerNames",
    ]
    loops = {}
    for name, res in _resources(storage).items():
        if res["loop"]:
            loops[name] = (res["type"].rsplit("/", 1)[-1], res["loop"]["detail"].get("array_name"), res["body"]["name"])
    assert loops == {
        "containers": ("containers", "containerNames", "containerName"),
        "queues": ("queues", "queueNames", "queueName"),
        "poisonQueues": ("queues", "queueNames", "${queueName}-poison"),
        "tables": ("tables", "tableNames", "tableName"),
    }


# ---------------------------------------------------------------------------------------------
# Parameter file
# ---------------------------------------------------------------------------------------------


def _bicepparam_assignments() -> dict[str, str]:
    lines = PARAM_FILE.read_text(encoding="utf-8").splitlines()
    out = {}
    for index, line in enumerate(lines):
        match = re.match(r"param\s+(\w+)\s*=\s*(.+)$", line)
        if match:
            assert index > 0 and lines[index - 1].startswith("//"), f"param {match[1]} has no comment above it"
            out[match[1]] = match[2].strip()
    return out


def test_bicepparam_sets_every_required_parameter_with_comments(templates: dict[str, dict]) -> None:
    text = PARAM_FILE.read_text(encoding="utf-8")
    assert re.search(r"^using 'main\.bicep'$", text, re.MULTILINE)
    assigned = _bicepparam_assignments()
    main_params = templates["main.bicep"]["parameters"]
    assert set(assigned) <= set(main_params), f"unknown parameters: {set(assigned) - set(main_params)}"
    required = {name for name, p in main_params.items() if "default" not in p or p["default"] is None}
    assert required <= set(assigned), f"required parameters not set: {required - set(assigned)}"
    # Secrets only ever come from the environment, never from the file.
    env_names = {
        "inqubaPassword": "INQUBA_PASSWORD",
        "inqubaClientSecret": "INQUBA_CLIENT_SECRET",
        "insiderApiKey": "INSIDER_API_KEY",
    }
    for param, env in env_names.items():
        assert assigned[param] == f"readEnvironmentVariable('{env}')"


# ---------------------------------------------------------------------------------------------
# checkov
# ---------------------------------------------------------------------------------------------


def _skip_comments() -> list[tuple[str, str, str]]:
    found = []
    for file, text in _bicep_sources().items():
        for match in re.finditer(r"//\s*checkov:skip=([A-Z0-9_]+)\s*:?\s*(.*)$", text, re.MULTILINE):
            found.append((file, match[1], match[2].strip()))
    return found


def test_checkov_passes_and_every_skip_is_documented() -> None:
    _require_infra_venv()
    assert CHECKOV.exists(), "checkov is missing from .venv-infra: pip install -r requirements-infra.txt"
    proc = subprocess.run(
        [str(CHECKOV), "-d", "infra", "--framework", "bicep", "--skip-download", "--quiet", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['file_path']} {c['resource']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 0

    skips = _skip_comments()
    # Each inline skip suppresses a check that really applies (checkov counts it as skipped).
    assert summary["skipped"] == len(skips), (summary, skips)
    doc = SKIPS_DOC.read_text(encoding="utf-8")
    rows = [line for line in doc.splitlines() if line.startswith("|")]
    for file, check, reason in skips:
        assert len(reason) > 20, f"{file}: {check} needs a reason"
        assert any(check in row and file in row for row in rows), f"{check} in {file} is not in {SKIPS_DOC.name}"
    documented = {(m, row) for row in rows for m in re.findall(r"CKV2?_AZURE_\d+", row)}
    assert {c for c, _ in documented} == {c for _, c, _ in skips}, "checkov-skips.md lists a check that is not skipped"


# ---------------------------------------------------------------------------------------------
# scripts/deploy.sh
# ---------------------------------------------------------------------------------------------


def test_deploy_script_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck is not installed (apt-get install -y shellcheck; the Makefile installs it)")
    proc = subprocess.run([shellcheck, str(DEPLOY_SCRIPT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_deploy_script_is_executable_bash_with_strict_mode() -> None:
    text = DEPLOY_SCRIPT.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert "set -x" not in text
    assert DEPLOY_SCRIPT.stat().st_mode & stat.S_IXUSR
    for flag in ("--resource-group", "--location", "--name-prefix", "--what-if", "--skip-code"):
        assert flag in text


FAKE_AZ = r"""#!/usr/bin/env bash
# Stand-in for the Azure CLI: logs every call, answers the few queries deploy.sh makes.
set -euo pipefail
printf '%s\n' "$*" >> "$FAKE_AZ_LOG"
case "$*" in
  "account show"*)
    [[ -z "${FAKE_AZ_LOGGED_OUT:-}" ]] || { echo "Please run 'az login' to setup account." >&2; exit 1; }
    printf 'Test subscription\n00000000-0000-0000-0000-000000000000\n' ;;
  "group show"*)
    [[ -n "${FAKE_AZ_GROUP_LOCATION:-}" ]] || { echo "ResourceGroupNotFound" >&2; exit 3; }
    printf '%s\n' "$FAKE_AZ_GROUP_LOCATION" ;;
  "functionapp list-flexconsumption-locations"*) printf 'eastus\nswedencentral\nwesteurope\n' ;;
  "group create"*) ;;
  "deployment group create"* | "deployment group what-if"*)
    for var in NAME_PREFIX INQUBA_TOKEN_HOST INQUBA_TENANT INQUBA_USERNAME INQUBA_CLIENT_ID \
               INSIDER_PARTNER_NAME INQUBA_PASSWORD INQUBA_CLIENT_SECRET INSIDER_API_KEY; do
      [[ -n "${!var:-}" ]] && printf 'env %s is set\n' "$var" >> "$FAKE_AZ_LOG"
    done
    [[ "$*" != *"deployment group create"* ]] || printf 'NAME_PREFIX=%s\n' "$NAME_PREFIX" >> "$FAKE_AZ_LOG" ;;
  "deployment group show"*)
    printf 'fake-func-abc\nhttps://fake-func-abc.azurewebsites.net/api\nfake-appi-abc\n' ;;
  "functionapp deployment source config-zip"*)
    src=""; prev=""
    for arg in "$@"; do [[ "$prev" == "--src" ]] && src="$arg"; prev="$arg"; done
    cp "$src" "$FAKE_AZ_ZIP" ;;
  *) echo "fake az: unexpected call: $*" >&2; exit 2 ;;
esac
"""

SECRETS = {
    "INQUBA_PASSWORD": "pw-Th1s-Must-N0t-Leak",
    "INQUBA_CLIENT_SECRET": "cs-Th1s-Must-N0t-Leak",
    "INSIDER_API_KEY": "ak-Th1s-Must-N0t-Leak",
}
CONFIG = {
    "INQUBA_TOKEN_HOST": "id.inqubacx.com",
    "INQUBA_TENANT": "acme",
    "INQUBA_USERNAME": "svc-user",
    "INQUBA_CLIENT_ID": "client-1",
    "INSIDER_PARTNER_NAME": "acme",
}


@pytest.fixture
def fake_repo(tmp_path: Path) -> dict[str, Any]:
    """A copy of deploy.sh in a small fake project, and a fake `az` first on PATH."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(DEPLOY_SCRIPT, repo / "scripts" / "deploy.sh")
    (repo / "infra").mkdir()
    (repo / "infra" / "main.bicepparam").write_text("using 'main.bicep'\n")
    files = {
        "function_app.py": "import azure.functions as func\n",
        "host.json": "{}\n",
        "requirements.txt": "azure-functions\n",
        "shared/__init__.py": "",
        "shared/settings.py": "X = 1\n",
        "shared/__pycache__/settings.cpython-311.pyc": "",
        "tests/test_app.py": "",
        "tests/infra/test_infra.py": "",
        ".venv/bin/python": "",
        ".venv-infra/bin/python": "",
        "node_modules/azurite/index.js": "",
        ".git/config": "",
        "local.settings.json": "{}",
        "sandbox/tool.py": "",
        "sandbox/keep.py": "",
        "docs/notes.md": "",
        "notes.tmp": "",
    }
    for rel, content in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (repo / ".funcignore").write_text("# project-specific\nsandbox/*\n!sandbox/keep.py\n*.tmp\n/docs\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(FAKE_AZ)
    (bin_dir / "az").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "INQUBA_", "INSIDER_", "NAME_PREFIX"))}
    env.update(CONFIG)
    env.update(SECRETS)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        FAKE_AZ_LOG=str(tmp_path / "az.log"),
        FAKE_AZ_ZIP=str(tmp_path / "deployed.zip"),
        ZIP_DEPLOY_RETRY_SECONDS="0",
    )
    return {"repo": repo, "env": env, "log": tmp_path / "az.log", "zip": tmp_path / "deployed.zip"}


def _run_deploy(fake: dict[str, Any], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(fake["repo"] / "scripts" / "deploy.sh"), *args],
        env={**fake["env"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _calls(fake: dict[str, Any]) -> list[str]:
    return fake["log"].read_text().splitlines() if fake["log"].exists() else []


def _assert_no_secret_leaks(fake: dict[str, Any], proc: subprocess.CompletedProcess[str]) -> None:
    seen = proc.stdout + proc.stderr + "\n".join(_calls(fake))
    for value in SECRETS.values():
        assert value not in seen


def test_deploy_script_deploys_infra_and_code(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(
        fake_repo, "--resource-group", "rg-test", "--location", "Sweden Central", "--name-prefix", "iqtest"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = _calls(fake_repo)
    param_file = fake_repo["repo"] / "infra" / "main.bicepparam"
    assert calls[0].startswith("account show")
    assert any(c.startswith("group create --name rg-test --location swedencentral") for c in calls)
    create = [c for c in calls if c.startswith("deployment group create")]
    assert len(create) == 1 and f"--parameters {param_file}" in create[0] and "--resource-group rg-test" in create[0]
    for var in ("NAME_PREFIX", *CONFIG, *SECRETS):
        assert f"env {var} is set" in calls, f"{var} did not reach az (main.bicepparam reads it)"
    assert "NAME_PREFIX=iqtest" in calls
    zip_call = [c for c in calls if c.startswith("functionapp deployment source config-zip")]
    assert len(zip_call) == 1
    assert "--resource-group rg-test --name fake-func-abc" in zip_call[0] and "--build-remote true" in zip_call[0]
    _assert_no_secret_leaks(fake_repo, proc)

    with zipfile.ZipFile(fake_repo["zip"]) as archive:
        names = set(archive.namelist())
    assert {
        "function_app.py",
        "host.json",
        "requirements.txt",
        "shared/__init__.py",
        "shared/settings.py",
        "sandbox/keep.py",
    } <= names
    for excluded in (
        "tests/",
        ".venv/",
        ".venv-infra/",
        "node_modules/",
        ".git/",
        "__pycache__/",
        "infra/",
        "scripts/",
        "docs/",
    ):
        assert not any(n.startswith(excluded) or f"/{excluded}" in n for n in names), excluded
    assert not names & {"local.settings.json", "notes.tmp", "sandbox/tool.py"}

    assert "https://fake-func-abc.azurewebsites.net/api" in proc.stdout
    assert (
        "az functionapp keys list --resource-group rg-test --name fake-func-abc "
        "--query functionKeys.default --output tsv"
    ) in proc.stdout


def test_deploy_script_is_idempotent_on_an_existing_group(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(fake_repo, "-g", "rg-test", "--skip-code", FAKE_AZ_GROUP_LOCATION="swedencentral")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = _calls(fake_repo)
    assert not any(c.startswith("group create") for c in calls)
    assert any(c.startswith("deployment group create") for c in calls)
    assert not any("config-zip" in c for c in calls)
    assert "NAME_PREFIX=inqins" in calls
    assert "az functionapp keys list --resource-group rg-test --name fake-func-abc" in proc.stdout


def test_deploy_script_what_if_changes_nothing(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(fake_repo, "-g", "rg-test", "--what-if", FAKE_AZ_GROUP_LOCATION="swedencentral")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = _calls(fake_repo)
    assert any(c.startswith("deployment group what-if") for c in calls)
    assert not any(c.startswith(("group create", "deployment group create")) or "config-zip" in c for c in calls)
    _assert_no_secret_leaks(fake_repo, proc)


def test_deploy_script_refuses_without_login_or_settings(fake_repo: dict[str, Any]) -> None:
    proc = _run_deploy(fake_repo, "-g", "rg-test", "-l", "swedencentral", FAKE_AZ_LOGGED_OUT="1")
    assert proc.returncode != 0
    assert "az login" in proc.stderr
    assert _calls(fake_repo) == ["account show --query [name, id] --output tsv"]

    env = {k: v for k, v in fake_repo["env"].items() if k not in ("INQUBA_PASSWORD", "INSIDER_PARTNER_NAME")}
    proc = subprocess.run(
        ["bash", str(fake_repo["repo"] / "scripts" / "deploy.sh"), "-g", "rg", "-l", "westeurope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "INSIDER_PARTNER_NAME INQUBA_PASSWORD" in proc.stderr
    _assert_no_secret_leaks(fake_repo, proc)

    proc = _run_deploy(fake_repo, "-g", "rg", "-l", "westeurope", INSIDER_PARTNER_NAME="Acme")
    assert proc.returncode != 0 and "INSIDER_PARTNER_NAME must be lowercase" in proc.stderr

    proc = _run_deploy(fake_repo, "-g", "rg", "-l", "mars")
    assert proc.returncode != 0 and "Flex Consumption" in proc.stderr

    proc = _run_deploy(fake_repo, "-g", "rg", "-l", "westeurope", "--name-prefix", "Bad_Prefix")
    assert proc.returncode != 0 and "--name-prefix" in proc.stderr

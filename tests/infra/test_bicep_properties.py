"""Property walk of the parsed Bicep: layout, types and API versions, security and wiring properties.

Every .bicep file is parsed by pycep (conftest.py, in .venv-infra) and the parsed templates are
walked. The private network variant and the operations resources (alerts, sign-in) have their own
files: test_bicep_network.py and test_bicep_operations.py.
"""

from __future__ import annotations

import json
import re

from tests.infra.helpers import (
    INFRA,
    SECURE_PARAMS,
    VAULT_SECRETS,
    accessor,
    bicep_sources,
    conditional,
    decorators,
    function,
    module_params,
    not_empty,
    of_type,
    one,
    resources,
    union_args,
    variable,
)

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
    "app/network.bicep",
    "app/private-endpoints.bicep",
    "app/alerts.bicep",
    "app/auth.bicep",
}

# Every resource type the templates declare (or reference as existing), with the API version it
# uses: each pair is published in the Bicep types of Azure (github.com/Azure/bicep-types-az,
# generated/<provider>/<namespace>/<version>/types.md), so the Bicep compiler knows its schema.
# A new type or version belongs here only after checking it there. (pycep reports only the last
# child resource nested in a parent, so storage.bicep's nested blobServices and queueServices, which
# take the account's version, are not seen and not listed; tableServices is.)
RESOURCE_API_VERSIONS = {
    "Microsoft.ManagedIdentity/userAssignedIdentities": "2023-01-31",
    "Microsoft.Storage/storageAccounts": "2023-05-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2023-05-01",
    "Microsoft.Storage/storageAccounts/queueServices/queues": "2023-05-01",
    "Microsoft.Storage/storageAccounts/tableServices": "2023-05-01",
    "Microsoft.Storage/storageAccounts/tableServices/tables": "2023-05-01",
    "Microsoft.OperationalInsights/workspaces": "2023-09-01",
    "Microsoft.Insights/components": "2020-02-02",
    "Microsoft.Insights/actionGroups": "2023-01-01",
    "Microsoft.Insights/scheduledQueryRules": "2023-12-01",
    "Microsoft.KeyVault/vaults": "2023-07-01",
    "Microsoft.KeyVault/vaults/secrets": "2023-07-01",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    "Microsoft.Web/serverfarms": "2024-04-01",
    "Microsoft.Web/sites": "2024-04-01",
    "Microsoft.Web/sites/config": "2024-04-01",
    "Microsoft.Network/publicIPAddresses": "2023-11-01",
    "Microsoft.Network/natGateways": "2023-11-01",
    "Microsoft.Network/virtualNetworks": "2023-11-01",
    "Microsoft.Network/privateEndpoints": "2023-11-01",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": "2023-11-01",
    "Microsoft.Network/privateDnsZones": "2020-06-01",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": "2020-06-01",
}


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
    for file, text in bicep_sources().items():
        assert not re.search(r"""['"](br|ts)[:/]""", text), f"{file} uses a registry/template-spec module"


def test_every_resource_type_has_a_published_api_version(templates: dict[str, dict]) -> None:
    used: dict[str, set[str]] = {}
    for file, tpl in templates.items():
        for name, res in resources(tpl).items():
            expected = RESOURCE_API_VERSIONS.get(res["type"])
            assert expected, f"{file}: {name} has a type not in RESOURCE_API_VERSIONS: {res['type']}"
            assert res["api_version"] == expected, f"{file}: {name} uses {res['type']}@{res['api_version']}"
            used.setdefault(res["type"], set()).add(file)
    # No stale rows: every listed type is used somewhere.
    assert set(used) == set(RESOURCE_API_VERSIONS), set(RESOURCE_API_VERSIONS) - set(used)


# ---------------------------------------------------------------------------------------------
# Storage, Flex Consumption, host storage identity
# ---------------------------------------------------------------------------------------------


def test_storage_account_is_locked_down(templates: dict[str, dict]) -> None:
    accounts = {
        (file, name): res["body"]
        for file, tpl in templates.items()
        for name, res in of_type(tpl, "Microsoft.Storage/storageAccounts").items()
    }
    assert list(accounts) == [("app/storage.bicep", "storage")]
    props = accounts["app/storage.bicep", "storage"]["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props.get("defaultToOAuthAuthentication") is True
    # The public endpoint follows the module parameters; main.bicep sets them from `network`
    # (test_bicep_network.py), and their defaults are the public variant's.
    assert props["publicNetworkAccess"] == "publicNetworkAccess"
    assert props["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "networkDefaultAction"}
    params = templates["app/storage.bicep"]["parameters"]
    assert params["publicNetworkAccess"]["default"] == "Enabled"
    assert decorators(params["publicNetworkAccess"])["allowed"] == ["Enabled", "Disabled"]
    assert params["networkDefaultAction"]["default"] == "Allow"
    assert decorators(params["networkDefaultAction"])["allowed"] == ["Allow", "Deny"]
    containers = of_type(templates["app/storage.bicep"], "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert containers and all(c["body"]["properties"]["publicAccess"] == "None" for c in containers.values())


def test_flex_consumption_plan(templates: dict[str, dict]) -> None:
    plan = one(templates["app/plan.bicep"], "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True


def test_function_app_site(templates: dict[str, dict]) -> None:
    api = templates["app/api.bicep"]
    main = templates["main.bicep"]
    site = one(api, "Microsoft.Web/sites")
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

    params = module_params(main, "api")
    assert params["instanceMemoryMB"] == "instanceMemoryMB" and "instanceMemoryMB" in main["parameters"]
    assert params["maximumInstanceCount"] == "maximumInstanceCount" and "maximumInstanceCount" in main["parameters"]
    assert params["runtimeVersion"] == "pythonVersion"
    assert main["parameters"]["pythonVersion"]["default"] == "3.11"
    assert params["identityId"] == accessor("identity", "outputs", "id")
    assert params["identityClientId"] == accessor("identity", "outputs", "clientId")
    # The deployment container is created in the storage account.
    storage_params = module_params(main, "storage")
    container_args = function(storage_params["containerNames"], "concat")["parameters"].values()
    assert ["deploymentContainerName"] in list(container_args)


def test_host_storage_uses_the_managed_identity(templates: dict[str, dict]) -> None:
    host = variable(templates["app/api.bicep"], "hostSettings")
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
    scopes = {name: r["type"] for name, r in resources(rbac).items() if r["existing"]}
    found: dict[tuple[str, str], tuple[str, str]] = {}  # (principal, role id) -> (scope type, name)
    for name, res in of_type(rbac, "Microsoft.Authorization/roleAssignments").items():
        body = res["body"]
        definition = function(body["properties"]["roleDefinitionId"], "subscription_resource_id")
        assert definition, f"{name}: roleDefinitionId must be subscriptionResourceId(...)"
        assert definition["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role_var = definition["parameters"]["resource_name_1"]
        role_id = role_vars[role_var]
        principal = body["properties"]["principalId"]
        scope = body["scope"]
        # name = guid(scope.id, principalId, roleId): stable, so redeployments are idempotent.
        guid = function(body["name"], "guid")
        assert guid, f"{name}: name must be guid(...)"
        assert list(guid["parameters"].values()) == [
            accessor(scope, "id"),
            principal,
            role_var,
        ], f"{name}: name must be guid({scope}.id, {principal}, {role_var})"
        if principal == "principalId":
            assert body["properties"]["principalType"] == "ServicePrincipal", name
            assert res["condition"] is None, f"{name}: the app's assignments are unconditional"
        else:
            assert principal == "deployerPrincipalId", name
            assert res["condition"] == not_empty("deployerPrincipalId")
        found[principal, role_id] = (scopes[scope], name)

    for role, role_id in ROLE_IDS.items():
        assert ("principalId", role_id) in found, f"the app identity lacks {role}"
        assert found["principalId", role_id][0] == ROLE_SCOPES[role], f"{role} has the wrong scope"
    assert all(role_id in ROLE_IDS.values() for _, role_id in found), "unexpected role definition"
    assert len([k for k in found if k[0] == "principalId"]) == len(ROLE_IDS)

    main = templates["main.bicep"]
    assert main["parameters"]["deployerPrincipalId"]["default"] == ""
    assert module_params(main, "rbac")["principalId"] == accessor("identity", "outputs", "principalId")


# ---------------------------------------------------------------------------------------------
# Key Vault, secrets, outputs, Application Insights
# ---------------------------------------------------------------------------------------------


def test_key_vault_is_rbac_mode_with_soft_delete_and_purge_protection(templates: dict[str, dict]) -> None:
    kv = templates["app/keyvault.bicep"]
    vault = one(kv, "Microsoft.KeyVault/vaults")["properties"]
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
    assert vault["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "networkDefaultAction"}
    assert kv["parameters"]["publicNetworkAccess"]["default"] == "Enabled"
    assert decorators(kv["parameters"]["publicNetworkAccess"])["allowed"] == ["Enabled", "Disabled"]
    assert kv["parameters"]["networkDefaultAction"]["default"] == "Allow"

    main = templates["main.bicep"]
    params = module_params(main, "vault")
    assert params["enablePurgeProtection"] == "vaultPurgeProtection"
    assert main["parameters"]["vaultPurgeProtection"]["default"] is True
    # Public access is no parameter of its own any more: it follows `network`.
    assert "vaultPublicNetworkAccess" not in main["parameters"]
    assert params["publicNetworkAccess"] == conditional("isPrivate", "Disabled", "Enabled")
    assert params["networkDefaultAction"] == conditional("isPrivate", "Deny", "Allow")


def test_secrets_are_stored_in_key_vault_from_secure_parameters(templates: dict[str, dict]) -> None:
    main, kv = templates["main.bicep"], templates["app/keyvault.bicep"]
    assert variable(main, "vaultSecretNames") == VAULT_SECRETS
    assert module_params(main, "vault")["secretNames"] == "vaultSecretNames"
    secrets = {
        res["body"]["name"]["operator"]["operands"]["operand_2"]: res["body"]["properties"]["value"]
        for res in of_type(kv, "Microsoft.KeyVault/vaults/secrets").values()
    }
    assert secrets == dict(zip(VAULT_SECRETS, SECURE_PARAMS, strict=True))
    for tpl in (main, kv):
        for name in SECURE_PARAMS:
            param = tpl["parameters"][name]
            assert "secure" in decorators(param), f"{name} must be @secure()"
            assert param.get("default") is None, f"{name} must have no default"
    for name in SECURE_PARAMS:
        assert module_params(main, "vault")[name] == name
    # Every parameter that looks like a credential is @secure(), in every file.
    for file, tpl in templates.items():
        for name, param in (tpl.get("parameters") or {}).items():
            if re.search(r"password|secret(?!names)|apikey", name, re.IGNORECASE):
                assert "secure" in decorators(param), f"{file}: parameter {name} must be @secure()"


def test_app_settings_reference_key_vault_for_the_three_secrets(templates: dict[str, dict]) -> None:
    main = templates["main.bicep"]
    refs = variable(main, "vaultReferences")
    assert set(refs) == set(VAULT_SECRETS)
    for setting in VAULT_SECRETS:
        assert refs[setting] == (
            f"@Microsoft.KeyVault(SecretUri=${{vault.outputs.vaultUri}}secrets/${{vaultSecretNames.{setting}}}/)"
        )
    assert "vaultReferences" in union_args(variable(main, "appSettings"))
    # No secret parameter reaches an app setting directly.
    assert not set(SECURE_PARAMS) & set(json.dumps(variable(main, "configSettings")).split('"'))


def test_no_output_exposes_a_secret(templates: dict[str, dict]) -> None:
    pattern = re.compile(r"secret|password|key", re.IGNORECASE)
    for file, tpl in templates.items():
        for name, output in (tpl.get("outputs") or {}).items():
            assert not pattern.search(name), f"{file}: output {name}"
            assert not pattern.search(json.dumps(output["value"])), f"{file}: output {name} = {output['value']}"
            assert "secure" not in decorators(output)
    assert {"functionAppName", "functionAppBaseUrl", "resourceGroupName"} <= set(templates["main.bicep"]["outputs"])
    assert (
        templates["main.bicep"]["outputs"]["functionAppBaseUrl"]["value"]
        == "https://${api.outputs.defaultHostName}/api"
    )


def test_application_insights_uses_entra_auth_only(templates: dict[str, dict]) -> None:
    monitoring = templates["app/monitoring.bicep"]
    component = one(monitoring, "Microsoft.Insights/components")["properties"]
    assert component["DisableLocalAuth"] is True
    assert component["WorkspaceResourceId"] == accessor("workspace", "id")
    api = templates["app/api.bicep"]
    assert variable(api, "hostSettings")["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )
    extra = function(one(api, "Microsoft.Web/sites")["properties"]["siteConfig"]["appSettings"], "concat")
    literal = [entry for arg in extra["parameters"].values() if isinstance(arg, list) for entry in arg]
    assert [e["name"] for e in literal] == ["APPLICATIONINSIGHTS_CONNECTION_STRING"]

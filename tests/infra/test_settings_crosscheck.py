"""The Bicep against the app code: every setting the code reads is set, with the code's default.

The names come from shared.settings; the app settings and storage resources from the parsed
main.bicep and app/api.bicep (conftest.py); literal tunables also from infra/main.bicepparam.
"""

from __future__ import annotations

import re

from shared.settings import ALL_SETTING_NAMES, SETTINGS, STORAGE_RESOURCES
from tests.infra.helpers import (
    PARAM_FILE,
    VAULT_SECRETS,
    function,
    module_params,
    object_keys,
    one,
    param_default,
    resources,
    storage_names,
    variable,
)

# What the app code reads, with each setting's default: shared.settings.SETTINGS, the table the code
# itself reads (None = required, no default). "{host}"/"{tenant}" stand for INQUBA_TOKEN_HOST / INQUBA_TENANT.
EXPECTED_SETTINGS: dict[str, str | None] = {name: setting.default for name, setting in SETTINGS.items()}


# ---------------------------------------------------------------------------------------------
# Cross-check with the settings the code reads
# ---------------------------------------------------------------------------------------------


def _all_app_setting_names(templates: dict[str, dict]) -> set[str]:
    main, api = templates["main.bicep"], templates["app/api.bicep"]
    assert module_params(main, "api")["appSettings"] == "appSettings"
    site_settings = function(one(api, "Microsoft.Web/sites")["properties"]["siteConfig"]["appSettings"], "concat")
    args = list(site_settings["parameters"].values())
    assert args[0] == "settingsList"
    loop = api["variables"]["settingsList"]["value"]["loop_type"]
    # pycep renders the iterated expression as text: it must be union(appSettings, hostSettings).
    assert "'arg_1': 'appSettings', 'arg_2': 'hostSettings'" in loop["detail"]["object_name"], loop
    names = object_keys(main, "appSettings") | object_keys(api, "hostSettings")
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
        values.update(variable(main, var))
    placeholders = {"{host}": "${inqubaTokenHost}", "{tenant}": "${inqubaTenant}"}
    literals = _bicepparam_assignments()
    for setting, default in EXPECTED_SETTINGS.items():
        if setting in VAULT_SECRETS or default is None:
            continue
        expr = values[setting]
        if isinstance(expr, dict) and expr.get("operator", {}).get("type") == "conditional":
            # An empty parameter falls back to the code's default (a URL template, filled in; or
            # OPERATIONS_AUTH's function-key while pageAuthGroupId is empty).
            assert function(expr["operator"]["operands"]["condition"], "empty"), setting
            expected = default
            for placeholder, interpolation in placeholders.items():
                expected = expected.replace(placeholder, interpolation)
            assert expr["operator"]["operands"]["true_value"] == expected, setting
            continue
        if setting.endswith(("_QUEUE", "_TABLE", "_CONTAINER")):
            assert expr == default, f"{setting}: {expr!r} != {default!r}"
            continue
        assert str(param_default(main, expr)) == default, f"{setting}: Bicep default differs from the code"
        param = function(expr, "string")["parameters"]["value_to_convert"] if function(expr, "string") else expr
        if param in literals and not literals[param].startswith("readEnvironmentVariable("):
            assert literals[param].strip("'") == default, f"{setting}: main.bicepparam differs from the code"


def test_every_queue_table_and_container_is_created(templates: dict[str, dict]) -> None:
    main, storage = templates["main.bicep"], templates["app/storage.bicep"]
    # Names are defined once (keyed by their app setting) and fed to the storage module from there.
    defined = {
        "queues": set(variable(main, "queueSettings").values()),
        "tables": set(variable(main, "tableSettings").values()),
        "containers": set(variable(main, "containerSettings").values()),
    }
    for kind in ("queues", "tables", "containers"):
        missing = storage_names(STORAGE_RESOURCES[kind]) - defined[kind]
        assert not missing, f"{kind} the code uses but the Bicep does not create: {sorted(missing)}"
    for var, source in (
        ("queueNames", "queueSettings"),
        ("tableNames", "tableSettings"),
        ("appContainerNames", "containerSettings"),
    ):
        assert variable(main, var)["loop_type"]["detail"]["object_name"] == source
    params = module_params(main, "storage")
    assert params["queueNames"] == "queueNames" and params["tableNames"] == "tableNames"
    assert list(function(params["containerNames"], "concat")["parameters"].values()) == [
        ["deploymentContainerName"],
        "appContainerNames",
    ]
    loops = {}
    for name, res in resources(storage).items():
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

"""The private network variant (main.bicep network = 'private') in the parsed Bicep.

What the switch changes (and that the public default changes nothing), the virtual network with
its NAT gateway and static outbound IPv4, and the private endpoints with their DNS zones.
"""

from __future__ import annotations

from typing import Any

from tests.infra.helpers import (
    accessor,
    conditional,
    decorators,
    empty,
    module,
    module_params,
    one,
    resources,
    variable,
)


def _index(array: str, index: str, *attribute: str) -> Any:
    """pycep's form of array[index] or array[index].attribute."""
    item = {"operator": {"type": "index_accessor", "operands": {"operand_1": array, "operand_2": index}}}
    return accessor(item, *attribute) if attribute else item


def _resource_id(type_: str, *names: Any) -> dict:
    """pycep's form of resourceId(type_, names...) in the current resource group."""
    parameters: dict[str, Any] = {"resource_type": type_}
    for position in (1, 2):
        parameters[f"resource_name_{position}"] = names[position - 1] if len(names) >= position else None
    return {
        "function": {
            "type": "resource_id",
            "parameters": {**parameters, "resource_group_name": None, "subscription_id": None},
        }
    }


def test_network_parameter_switches_the_private_resources(templates: dict[str, dict]) -> None:
    main = templates["main.bicep"]
    param = main["parameters"]["network"]
    assert param["default"] == "public", "the default deployment stays public"
    assert decorators(param)["allowed"] == ["public", "private"]
    assert variable(main, "isPrivate") == {
        "operator": {"type": "equals", "operands": {"operand_1": "network", "operand_2": "private"}}
    }
    for name in ("privateNetwork", "privateEndpoints"):
        assert module(main, name)[1] == "isPrivate", f"{name} must exist only in the private variant"
    for name in ("storage", "vault"):
        params = module_params(main, name)
        assert params["publicNetworkAccess"] == conditional("isPrivate", "Disabled", "Enabled"), name
        assert params["networkDefaultAction"] == conditional("isPrivate", "Deny", "Allow"), name

    # VNet integration of the app, which starts only once the subnet and the endpoints exist.
    api, condition = module(main, "api")
    assert condition is None
    assert api["params"]["virtualNetworkSubnetId"] == conditional("isPrivate", "appSubnetId", "")
    assert {"rbac", "privateNetwork", "privateEndpoints"} <= set(api["dependsOn"])
    site = one(templates["app/api.bicep"], "Microsoft.Web/sites")["properties"]
    assert site["virtualNetworkSubnetId"] == conditional(
        empty("virtualNetworkSubnetId"), None, "virtualNetworkSubnetId"
    )
    assert templates["app/api.bicep"]["parameters"]["virtualNetworkSubnetId"]["default"] == ""

    # The outbound address is an output of the template (empty when public).
    assert main["outputs"]["outboundIpAddress"]["value"] == conditional(
        "isPrivate", accessor("privateNetwork", "outputs", "outboundIpAddress"), ""
    )
    assert templates["app/network.bicep"]["outputs"]["outboundIpAddress"]["value"] == accessor(
        "publicIp", "properties", "ipAddress"
    )


def test_network_has_a_delegated_app_subnet_behind_a_nat_gateway_with_a_static_ipv4(
    templates: dict[str, dict],
) -> None:
    net = templates["app/network.bicep"]
    ip = one(net, "Microsoft.Network/publicIPAddresses")
    assert ip["sku"] == {"name": "Standard", "tier": "Regional"}
    assert ip["properties"]["publicIPAllocationMethod"] == "Static"
    assert ip["properties"]["publicIPAddressVersion"] == "IPv4", "Insider's allow-list takes IPv4 only"
    nat = one(net, "Microsoft.Network/natGateways")
    assert nat["sku"] == {"name": "Standard"}
    assert nat["properties"]["publicIpAddresses"] == [{"id": accessor("publicIp", "id")}]

    subnets = {
        s["name"]: s["properties"] for s in one(net, "Microsoft.Network/virtualNetworks")["properties"]["subnets"]
    }
    assert set(subnets) == {"appSubnetName", "privateEndpointSubnetName"}
    app = subnets["appSubnetName"]
    assert app["addressPrefix"] == "appSubnetPrefix"
    assert app["natGateway"] == {"id": accessor("natGateway", "id")}
    assert [d["properties"]["serviceName"] for d in app["delegations"]] == ["Microsoft.App/environments"]
    endpoints = subnets["privateEndpointSubnetName"]
    assert endpoints == {"addressPrefix": "privateEndpointSubnetPrefix", "privateEndpointNetworkPolicies": "Disabled"}

    # main.bicep builds the subnet IDs from the same names it gives the module.
    main = templates["main.bicep"]
    params = module_params(main, "privateNetwork")
    assert params["vnetName"] == accessor("resourceNames", "vnet")
    assert (params["appSubnetName"], params["privateEndpointSubnetName"]) == (
        "appSubnetName",
        "privateEndpointSubnetName",
    )
    subnet_type = "Microsoft.Network/virtualNetworks/subnets"
    vnet_name = accessor("resourceNames", "vnet")
    assert variable(main, "appSubnetId") == _resource_id(subnet_type, vnet_name, "appSubnetName")
    assert variable(main, "privateEndpointSubnetId") == _resource_id(
        subnet_type, vnet_name, "privateEndpointSubnetName"
    )
    assert variable(main, "vnetId") == _resource_id("Microsoft.Network/virtualNetworks", vnet_name)
    for name, prefix in (
        ("vnetAddressPrefix", "/22"),
        ("appSubnetPrefix", "/24"),
        ("privateEndpointSubnetPrefix", "/26"),
    ):
        assert main["parameters"][name]["default"].endswith(prefix), name


def test_private_endpoints_and_dns_zones_for_blob_queue_table_and_vault(templates: dict[str, dict]) -> None:
    pe = templates["app/private-endpoints.bicep"]
    endpoints = {e["groupId"]: (e["zone"], e["target"]) for e in variable(pe, "endpoints")}
    storage, vault = accessor("storage", "id"), accessor("vault", "id")
    assert endpoints == {
        "blob": ("privatelink.blob.${storageSuffix}", storage),
        "queue": ("privatelink.queue.${storageSuffix}", storage),
        "table": ("privatelink.table.${storageSuffix}", storage),
        "vault": ("privatelink.vaultcore.azure.net", vault),
    }
    found = resources(pe)
    assert {n: r["type"] for n, r in found.items() if r["existing"]} == {
        "storage": "Microsoft.Storage/storageAccounts",
        "vault": "Microsoft.KeyVault/vaults",
    }
    loops = {n: r["loop"]["detail"]["array_name"] for n, r in found.items() if r["loop"]}
    assert loops == {n: "endpoints" for n in ("zones", "zoneLinks", "privateEndpoints", "zoneGroups")}

    zone = found["zones"]["body"]
    assert (zone["name"], zone["location"]) == (accessor("endpoint", "zone"), "global")
    link = found["zoneLinks"]["body"]
    assert link["parent"] == _index("zones", "i")
    # One link per network: private environments sharing a resource group share the zones.
    split = {"function": {"type": "split", "parameters": {"input_string": "vnetId", "delimiter": "/"}}}
    assert link["name"] == {"function": {"type": "last", "parameters": {"arg_1": split}}}
    assert link["properties"] == {"registrationEnabled": False, "virtualNetwork": {"id": "vnetId"}}
    endpoint = found["privateEndpoints"]["body"]["properties"]
    assert endpoint["subnet"] == {"id": "subnetId"}
    [connection] = endpoint["privateLinkServiceConnections"]
    assert connection["properties"] == {
        "privateLinkServiceId": accessor("endpoint", "target"),
        "groupIds": [accessor("endpoint", "groupId")],
    }
    group = found["zoneGroups"]["body"]
    assert group["parent"] == _index("privateEndpoints", "i")
    [config] = group["properties"]["privateDnsZoneConfigs"]
    assert config["properties"] == {"privateDnsZoneId": _index("zones", "i", "id")}

    main = templates["main.bicep"]
    body, _ = module(main, "privateEndpoints")
    assert body["params"]["vnetId"] == "vnetId"
    assert body["params"]["subnetId"] == "privateEndpointSubnetId"
    assert body["params"]["storageAccountName"] == accessor("storage", "outputs", "name")
    assert body["params"]["vaultName"] == accessor("vault", "outputs", "name")
    assert body["dependsOn"] == ["privateNetwork"]

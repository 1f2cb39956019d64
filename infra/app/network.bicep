// Network of the private variant (main.bicep network = 'private'): a virtual network with two
// subnets and a NAT gateway with one static public IPv4 address.
//   app subnet                delegated to Microsoft.App/environments (Flex Consumption VNet
//                             integration); its internet-bound traffic leaves through the NAT
//                             gateway, so the upstream APIs always see the same source address
//   private-endpoints subnet  the private endpoints of storage and Key Vault (private-endpoints.bicep)
// Inbound traffic to the Function app does not pass through this network: its public endpoint stays.

@description('Name of the virtual network.')
param vnetName string

@description('Name of the NAT gateway.')
param natGatewayName string

@description('Name of the NAT gateway\'s public IP address.')
param publicIpName string

@description('Azure region (the same as the Function app: VNet integration needs it).')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Address space of the virtual network.')
param addressPrefix string

@description('Name of the subnet the Function app is integrated with.')
param appSubnetName string

@description('Address range of the app subnet: one address per app instance, plus the platform\'s.')
param appSubnetPrefix string

@description('Name of the subnet of the private endpoints.')
param privateEndpointSubnetName string

@description('Address range of the private endpoint subnet (four endpoints).')
param privateEndpointSubnetPrefix string

// Standard SKU, static, IPv4: the address never changes while the resource exists, and the
// allow-lists it goes on (Insider's UCD API key) take IPv4 only.
resource publicIp 'Microsoft.Network/publicIPAddresses@2023-11-01' = {
  name: publicIpName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Regional'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
    idleTimeoutInMinutes: 4
  }
}

resource natGateway 'Microsoft.Network/natGateways@2023-11-01' = {
  name: natGatewayName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [
      {
        id: publicIp.id
      }
    ]
  }
}

// Both subnets inline: subnets declared as separate resources would be reset by every
// redeployment of the virtual network.
resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          natGateway: {
            id: natGateway.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                // Flex Consumption runs on the Container Apps platform: this, not Microsoft.Web/serverFarms.
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output vnetId string = vnet.id
output outboundIpAddress string = publicIp.properties.ipAddress

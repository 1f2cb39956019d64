// Private endpoints of the private variant: blob, queue and table of the storage account and the
// Key Vault, each with its privatelink DNS zone linked to the virtual network, so the usual host
// names (<account>.blob.core.windows.net, <vault>.vault.azure.net) resolve to private addresses
// inside the network. The accounts' public endpoints are disabled by main.bicep in this variant.

@description('Prefix of the endpoint names.')
param namePrefix string

@description('Azure region of the endpoints (the DNS zones are global).')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Resource ID of the virtual network the DNS zones are linked to.')
param vnetId string

@description('Resource ID of the subnet the endpoints are placed in.')
param subnetId string

@description('Storage account of the app (same resource group).')
param storageAccountName string

@description('Key Vault of the app (same resource group).')
param vaultName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

// One entry per endpoint: the target's sub-resource (groupId) and the zone its host names need.
// The Key Vault zone is the public-cloud name (vault.azure.net -> privatelink.vaultcore.azure.net).
var storageSuffix = environment().suffixes.storage
var endpoints = [
  {
    groupId: 'blob'
    zone: 'privatelink.blob.${storageSuffix}'
    target: storage.id
  }
  {
    groupId: 'queue'
    zone: 'privatelink.queue.${storageSuffix}'
    target: storage.id
  }
  {
    groupId: 'table'
    zone: 'privatelink.table.${storageSuffix}'
    target: storage.id
  }
  {
    groupId: 'vault'
    zone: 'privatelink.vaultcore.azure.net'
    target: vault.id
  }
]

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for endpoint in endpoints: {
  name: endpoint.zone
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (endpoint, i) in endpoints: {
  parent: zones[i]
  // Named after the network: environments of one resource group share the zones, each links its own.
  name: last(split(vnetId, '/'))
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [for endpoint in endpoints: {
  name: '${namePrefix}-pe-${endpoint.groupId}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: endpoint.groupId
        properties: {
          privateLinkServiceId: endpoint.target
          groupIds: [
            endpoint.groupId
          ]
        }
      }
    ]
  }
}]

// Registers each endpoint's address in its zone (and removes it with the endpoint).
resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [for (endpoint, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: endpoint.groupId
        properties: {
          privateDnsZoneId: zones[i].id
        }
      }
    ]
  }
}]

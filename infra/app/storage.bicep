// Storage account of the Function app: host storage (AzureWebJobsStorage), the Flex Consumption
// deployment package container, and the app's own queues, tables and blob containers.
// Shared-key (account key / SAS) access is off: everything authenticates with Entra ID. The public
// endpoint is open (network = public) or closed (network = private, private-endpoints.bicep).

@description('Storage account name (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Replication SKU.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param skuName string = 'Standard_LRS'

@description('Queues to create; each also gets its "<name>-poison" queue.')
param queueNames array

@description('Tables to create.')
param tableNames array

@description('Blob containers to create (the deployment package container and the app containers).')
param containerNames array

@description('Public network access: Enabled (network = public: the public endpoint, Entra ID only) or Disabled (network = private: private endpoints only).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Default action of the network rules: Allow (network = public) or Deny (network = private).')
@allowed([
  'Allow'
  'Deny'
])
param networkDefaultAction string = 'Allow'

@description('Days deleted blobs and containers can be restored.')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int = 7

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: network=public only - default action Allow: without VNet integration Flex Consumption reaches storage over its public endpoint (Entra ID only, shared key off)
  // checkov:skip=CKV_AZURE_59: network=public only - public network access Enabled for the same reason; network = private disables it and adds private endpoints
  // checkov:skip=CKV_AZURE_206: replication is the storageSku parameter; LRS is the default (ZRS/GZRS are not offered in every Flex region)
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: networkDefaultAction
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: deleteRetentionDays
      }
      containerDeleteRetentionPolicy: {
        enabled: true
        days: deleteRetentionDays
      }
    }
  }

  resource queueService 'queueServices' = {
    name: 'default'
  }

  resource tableService 'tableServices' = {
    name: 'default'
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for containerName in containerNames: {
  parent: storage::blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}]

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: storage::queueService
  name: queueName
}]

// The Functions host moves a message that failed maxDequeueCount times to "<queue>-poison" and
// creates that queue on demand; creating it here makes it visible (and monitorable) from day one.
resource poisonQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: storage::queueService
  name: '${queueName}-poison'
}]

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for tableName in tableNames: {
  parent: storage::tableService
  name: tableName
}]

output name string = storage.name
output id string = storage.id

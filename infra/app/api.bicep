// The Function app itself on the Flex Consumption plan: Linux, Python, code deployed from a blob
// container that the platform reads with the user-assigned identity, identity-based host storage,
// Entra-authenticated Application Insights and Key Vault references resolved with the same identity;
// optionally integrated with a virtual network (network = private).
// Flex takes the runtime from functionAppConfig.runtime: no FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION or WEBSITE_RUN_FROM_PACKAGE app settings.

@description('Function app name (globally unique: <name>.azurewebsites.net).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the app.')
param tags object = {}

@description('Resource ID of the Flex Consumption plan.')
param planId string

@description('Resource ID of the user-assigned managed identity.')
param identityId string

@description('Client ID of the user-assigned managed identity.')
param identityClientId string

@description('Storage account used for host storage and the deployment package (same resource group).')
param storageAccountName string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Application Insights component the app reports to.')
param applicationInsightsName string

@description('Python version.')
@allowed([
  '3.11'
  '3.12'
])
param runtimeVersion string = '3.11'

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Application settings of the app code (merged with the host settings below).')
param appSettings object

@description('Resource ID of the subnet (delegated to Microsoft.App/environments) the app is integrated with. Empty: no VNet integration (network = public).')
param virtualNetworkSubnetId string = ''

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Host settings: identity-based AzureWebJobsStorage (blob + queue + table, since the app has
// queue triggers and uses tables) and Entra-authenticated Application Insights. The service URIs
// are built from the account name so that every value here is known when the deployment starts
// (a for-expression needs that); APPLICATIONINSIGHTS_CONNECTION_STRING is appended below.
var storageSuffix = environment().suffixes.storage
var hostSettings = {
  AzureWebJobsStorage__blobServiceUri: 'https://${storageAccountName}.blob.${storageSuffix}'
  AzureWebJobsStorage__queueServiceUri: 'https://${storageAccountName}.queue.${storageSuffix}'
  AzureWebJobsStorage__tableServiceUri: 'https://${storageAccountName}.table.${storageSuffix}'
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}
var settingsList = [for setting in items(union(appSettings, hostSettings)): {
  name: setting.key
  value: setting.value
}]

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: public network access stays on - Power Automate / Logic Apps call the HTTP functions over the Internet (function keys required)
  // checkov:skip=CKV_AZURE_17: no incoming client certificates - the callers (Power Automate connectors, Logic Apps HTTP actions) authenticate with function keys
  // checkov:skip=CKV_AZURE_212: numberOfWorkers does not apply to Flex Consumption, which scales per instance up to maximumInstanceCount
  // checkov:skip=CKV_AZURE_213: App Service health check is not available on Flex Consumption; probe the anonymous GET /api/health from outside instead
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: planId
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    // network = private: all outbound traffic of a Flex Consumption app with VNet integration goes
    // through the subnet, so storage and Key Vault are reached on their private endpoints and the
    // internet through the subnet's NAT gateway.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(settingsList, [
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
      ])
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: 'https://${storageAccountName}.blob.${storageSuffix}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: runtimeVersion
      }
    }
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName

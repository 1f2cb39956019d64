// User-assigned managed identity of the Function app. The app uses it for host storage
// (AzureWebJobsStorage__*), the deployment package container, Application Insights (Entra auth)
// and Key Vault references. A user-assigned identity exists before the site, so its role
// assignments can be in place before the Functions host first starts.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId

// Key Vault for the app's outbound credentials, in RBAC mode (no access policies). The Function
// app reads the secrets through Key Vault references (`@Microsoft.KeyVault(SecretUri=...)`) with
// its user-assigned identity, which holds "Key Vault Secrets User" on this vault (rbac.bicep).
// Secret values come from @secure() parameters and are never returned as outputs.

@description('Vault name (3-24 letters, digits and hyphens, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object = {}

@description('Purge protection: a deleted vault or secret cannot be purged before the retention ends. Cannot be turned off once on.')
param enablePurgeProtection bool = true

@description('Days a deleted vault or secret stays recoverable (soft delete is always on).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Public network access: Enabled (network = public) or Disabled (network = private: the app reaches the vault through its private endpoint).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Default action of the firewall: Allow (network = public) or Deny (network = private).')
@allowed([
  'Allow'
  'Deny'
])
param networkDefaultAction string = 'Allow'

@description('Vault secret names, keyed by the app setting that references them.')
param secretNames object

@secure()
@description('inQuba Journey password (app setting INQUBA_PASSWORD).')
@minLength(1)
param inqubaPassword string

@secure()
@description('inQuba Journey OAuth client secret (app setting INQUBA_CLIENT_SECRET).')
@minLength(1)
param inqubaClientSecret string

@secure()
@description('Insider UCD API key (app setting INSIDER_API_KEY).')
@minLength(1)
param insiderApiKey string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: network=public only - firewall default action Allow: Key Vault references of an app without VNet integration come from changing public IPs
  // checkov:skip=CKV_AZURE_189: network=public only - public network access Enabled for the same reason; network = private disables it and adds a private endpoint
  // checkov:skip=CKV_AZURE_110: purge protection is a parameter (main.bicep vaultPurgeProtection, default true) written as a ternary that checkov cannot evaluate; tests/infra asserts it
  // checkov:skip=CKV_AZURE_42: recoverability = soft delete (always on) + purge protection (see CKV_AZURE_110); tests/infra asserts both
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The API accepts only true or an absent value for purge protection.
    enablePurgeProtection: enablePurgeProtection ? true : null
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: networkDefaultAction
    }
  }
}

resource inqubaPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: no expiry - the vendor-issued credentials have their own lifetime; an expiry here would only break the Key Vault reference (rotate by redeploying)
  parent: vault
  name: secretNames.INQUBA_PASSWORD
  properties: {
    value: inqubaPassword
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}

resource inqubaClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: no expiry - the vendor-issued credentials have their own lifetime; an expiry here would only break the Key Vault reference (rotate by redeploying)
  parent: vault
  name: secretNames.INQUBA_CLIENT_SECRET
  properties: {
    value: inqubaClientSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}

resource insiderApiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: no expiry - the vendor-issued credentials have their own lifetime; an expiry here would only break the Key Vault reference (rotate by redeploying)
  parent: vault
  name: secretNames.INSIDER_API_KEY
  properties: {
    value: insiderApiKey
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}

output name string = vault.name
output vaultUri string = vault.properties.vaultUri

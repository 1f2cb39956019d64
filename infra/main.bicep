// inQuba <-> Insider integration: Python 3.11 Azure Functions app on Flex Consumption.
//
// Deployed at resource-group scope (scripts/deploy.sh creates the group first):
//   az deployment group create --resource-group <rg> --parameters infra/main.bicepparam
//
// network = 'public' (default): storage and Key Vault on their public endpoints (Entra ID only).
// network = 'private': VNet integration, private endpoints, public access off on storage and Key
// Vault, and a NAT gateway with a static outbound IPv4 (output outboundIpAddress). The Function app
// stays reachable from the internet in both (function keys). docs/deploy.md, "Private deployment".
//
// Everything is declared with plain resources in the local modules under ./app (no registry
// modules), so the offline checks in tests/infra (pycep, checkov) see every property.
//   app/identity.bicep    user-assigned managed identity of the app
//   app/storage.bicep     storage account + the app's queues (and -poison queues), tables, containers
//   app/monitoring.bicep  Log Analytics workspace + Application Insights (local auth off)
//   app/keyvault.bicep    Key Vault (RBAC mode) + the three outbound secrets
//   app/rbac.bicep        role assignments of the identity (and optionally the deployer)
//   app/plan.bicep        Flex Consumption plan (FC1)
//   app/api.bicep         the Function app and its app settings
//   app/network.bicep     network = 'private': virtual network, subnets, NAT gateway + public IP
//   app/private-endpoints.bicep  network = 'private': private endpoints + DNS zones (blob, queue, table, vault)
//   app/alerts.bicep      action group (alertEmail) + log alert rules on Application Insights
//   app/auth.bicep        pageAuthGroupId set: Entra sign-in in front of the operations page
targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters: infrastructure
// ---------------------------------------------------------------------------------------------

@description('Short prefix of every resource name: 2-12 lowercase letters, digits or single hyphens, starting with a letter.')
@minLength(2)
@maxLength(12)
param namePrefix string

@description('Azure region of all resources; defaults to the resource group\'s region. Must support Flex Consumption.')
param location string = resourceGroup().location

@description('Extra tags applied to every resource.')
param tags object = {}

@description('Python version of the Functions runtime.')
@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string = '3.11'

@description('Memory of each Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of Flex Consumption instances (also bounds the load on the upstream APIs).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param storageSku string = 'Standard_LRS'

@description('Days Log Analytics (and so Application Insights) keeps data.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Key Vault purge protection (irreversible once on). Default true.')
param vaultPurgeProtection bool = true

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param vaultSoftDeleteRetentionInDays int = 90

@description('Optional object ID of the deployer (az ad signed-in-user show --query id -o tsv) to grant storage and Key Vault data access for local debugging. Empty: no assignment.')
param deployerPrincipalId string = ''

@description('Principal type of deployerPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

// ---------------------------------------------------------------------------------------------
// Parameters: network
// ---------------------------------------------------------------------------------------------

@description('public: storage and Key Vault on public endpoints (Entra ID only). private: VNet integration, private endpoints, public access off, NAT gateway with a static outbound IPv4.')
@allowed([
  'public'
  'private'
])
param network string = 'public'

@description('network = private: address space of the virtual network (pick one that does not overlap a network you peer with).')
param vnetAddressPrefix string = '10.60.0.0/22'

@description('network = private: subnet of the app; it needs room for every instance (maximumInstanceCount) plus the platform\'s addresses.')
param appSubnetPrefix string = '10.60.0.0/24'

@description('network = private: subnet of the four private endpoints.')
param privateEndpointSubnetPrefix string = '10.60.1.0/26'

// ---------------------------------------------------------------------------------------------
// Parameters: alerts and the operations page
// ---------------------------------------------------------------------------------------------

@description('E-mail address of the alert action group. Empty: no action group; the alerts still show under Monitor > Alerts.')
param alertEmail string = ''

@description('Alert when more than this percentage of the calls to inQuba or Insider fail within 15 minutes.')
@minValue(1)
@maxValue(100)
param upstreamFailureRatePercent int = 20

@description('Object ID of the Entra group allowed to use the operations page. Empty (default): no sign-in; the page uses function keys.')
param pageAuthGroupId string = ''

@description('Client ID of the Entra app registration for the operations page sign-in (needed when pageAuthGroupId is set; docs/deploy.md).')
param pageAuthClientId string = ''

// ---------------------------------------------------------------------------------------------
// Parameters: app configuration (become app settings of the same name)
// ---------------------------------------------------------------------------------------------

@description('INQUBA_TOKEN_HOST: host name of the inQuba token endpoint.')
@minLength(1)
param inqubaTokenHost string

@description('INQUBA_TENANT: inQuba tenant.')
@minLength(1)
param inqubaTenant string

@description('INQUBA_USERNAME: inQuba API user.')
@minLength(1)
param inqubaUsername string

@description('INQUBA_CLIENT_ID: inQuba OAuth client ID.')
@minLength(1)
param inqubaClientId string

@description('INSIDER_PARTNER_NAME: Insider partner name.')
@minLength(1)
param insiderPartnerName string

@description('INQUBA_TOKEN_URL: token endpoint. Empty: https://<inqubaTokenHost>/<inqubaTenant>/connect/token.')
param inqubaTokenUrl string = ''

@description('INQUBA_API_URL: inQuba CEMS API base URL. Empty: https://<inqubaTenant>.inqubacx.com/cems/api.')
param inqubaApiUrl string = ''

@description('INQUBA_ALLOWED_TOKEN_HOSTS: comma-separated host patterns the token URL may point to.')
param inqubaAllowedTokenHosts string = '*.inqubacx.com'

@description('INQUBA_TOKEN_DEFAULT_LIFETIME_SECONDS: token lifetime assumed when the token response has none.')
@minValue(1)
param inqubaTokenDefaultLifetimeSeconds int = 300

@description('INQUBA_TOKEN_REFRESH_SKEW_SECONDS: refresh a cached token this many seconds before it expires.')
@minValue(0)
param inqubaTokenRefreshSkewSeconds int = 60

@description('INSIDER_API_URL: Insider UCD API base URL.')
param insiderApiUrl string = 'https://unification.useinsider.com/api'

@description('INSIDER_ERROR_CALLBACK_URL: https URL sent as every upsert\'s error_callback_endpoint. Empty: none.')
param insiderErrorCallbackUrl string = ''

@description('UPSTREAM_TIMEOUT_SECONDS: total timeout of an upstream HTTP call.')
@minValue(1)
param upstreamTimeoutSeconds int = 30

@description('UPSTREAM_CONNECT_TIMEOUT_SECONDS: connect timeout of an upstream HTTP call.')
@minValue(1)
param upstreamConnectTimeoutSeconds int = 5

@description('UPSTREAM_MAX_INLINE_RETRY_AFTER_SECONDS: longest Retry-After honoured inline before re-queueing.')
@minValue(0)
param upstreamMaxInlineRetryAfterSeconds int = 5

@description('MAX_REQUEST_BODY_BYTES: largest accepted HTTP request body.')
@minValue(1024)
param maxRequestBodyBytes int = 1048576

@description('MAX_BATCH_BODY_BYTES: largest accepted body of a batch request.')
@minValue(1024)
param maxBatchBodyBytes int = 16777216

@description('DELIVERY_MAX_ATTEMPTS: attempts of one delivery before it is given up.')
@minValue(1)
param deliveryMaxAttempts int = 6

@description('RETRY_BASE_DELAY_SECONDS: first retry delay (grows exponentially).')
@minValue(0)
param retryBaseDelaySeconds int = 2

@description('RETRY_MAX_DELAY_SECONDS: longest retry delay.')
@minValue(0)
param retryMaxDelaySeconds int = 300

@description('OUTBOUND_LOG_RETENTION_DAYS: days outbound log entries are kept.')
@minValue(1)
param outboundLogRetentionDays int = 30

// ---------------------------------------------------------------------------------------------
// Parameters: secrets (stored in Key Vault; the app reads them through Key Vault references)
// ---------------------------------------------------------------------------------------------

@secure()
@description('INQUBA_PASSWORD. Stored as a Key Vault secret.')
@minLength(1)
param inqubaPassword string

@secure()
@description('INQUBA_CLIENT_SECRET. Stored as a Key Vault secret.')
@minLength(1)
param inqubaClientSecret string

@secure()
@description('INSIDER_API_KEY. Stored as a Key Vault secret.')
@minLength(1)
param insiderApiKey string

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, namePrefix))
var prefix = toLower(namePrefix)
var compactPrefix = take(replace(prefix, '-', ''), 9)
var resourceNames = {
  identity: '${prefix}-id-${resourceToken}'
  plan: '${prefix}-plan-${resourceToken}'
  functionApp: '${prefix}-func-${resourceToken}'
  storage: 'st${compactPrefix}${resourceToken}'
  vault: 'kv${compactPrefix}${resourceToken}'
  logAnalytics: '${prefix}-log-${resourceToken}'
  applicationInsights: '${prefix}-appi-${resourceToken}'
  vnet: '${prefix}-vnet-${resourceToken}'
  natGateway: '${prefix}-nat-${resourceToken}'
  natPublicIp: '${prefix}-nat-ip-${resourceToken}'
}
var allTags = union({ app: 'inquba-insider-functions' }, tags)

var isPrivate = network == 'private'

// network = private: the subnet IDs follow from the names, so the app and the endpoints need no
// output of the (conditional) privateNetwork module; dependsOn orders them after it.
var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'
var vnetId = resourceId('Microsoft.Network/virtualNetworks', resourceNames.vnet)
var appSubnetId = resourceId('Microsoft.Network/virtualNetworks/subnets', resourceNames.vnet, appSubnetName)
var privateEndpointSubnetId = resourceId('Microsoft.Network/virtualNetworks/subnets', resourceNames.vnet, privateEndpointSubnetName)

// Sign-in on (pageAuthGroupId set): these routes skip it and keep their function keys; every other
// route needs a signed-in group member: the operations page (/api/operations,
// /api/outbound-logs/page) and the operations routes it calls (/api/outbound-logs*, /api/stats,
// /api/dead-letters*, /api/insider/resume). A new route that Power Automate or Logic Apps call
// belongs here; tests/infra compares this list with the routes of function_app.py.
var signInExcludedPaths = [
  '/api/health'
  '/api/openapi.json'
  '/api/inquba/*'
  '/api/requests/*'
  '/api/insider/mapping'
  '/api/insider/mapping/*'
  '/api/insider/sync'
  '/api/insider/erase'
  '/api/insider/attributes/delete'
]

// Flex Consumption reads the deployment package from this container.
var deploymentContainerName = 'app-package-${resourceToken}'

// The app's storage resources, defined ONCE, keyed by the app setting that names them: the same
// objects create the resources (storage module) and become app settings (appSettings below).
var queueSettings = {
  INQUBA_EVENTS_QUEUE: 'inquba-events'
  INQUBA_TRANSACTIONS_QUEUE: 'inquba-transactions'
  INSIDER_SYNC_QUEUE: 'insider-sync'
  OUTBOUND_LOG_RETRY_QUEUE: 'outbound-log-retry'
}
var tableSettings = {
  OUTBOUND_LOG_TABLE: 'outboundlog'
  DELIVERY_TABLE: 'deliveries'
  BATCH_TABLE: 'batchitems'
  STATS_TABLE: 'deliverystats'
  DEAD_LETTER_TABLE: 'deadletters'
}
var containerSettings = {
  TOKEN_CACHE_CONTAINER: 'inquba-token-cache'
  INSIDER_MAPPING_CONTAINER: 'insider-mapping'
}
var queueNames = [for item in items(queueSettings): item.value]
var tableNames = [for item in items(tableSettings): item.value]
var appContainerNames = [for item in items(containerSettings): item.value]

// Key Vault secret names, keyed by the app setting that references them.
var vaultSecretNames = {
  INQUBA_PASSWORD: 'inquba-password'
  INQUBA_CLIENT_SECRET: 'inquba-client-secret'
  INSIDER_API_KEY: 'insider-api-key'
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

module identity 'app/identity.bicep' = {
  name: 'identity'
  params: {
    name: resourceNames.identity
    location: location
    tags: allTags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: resourceNames.storage
    location: location
    tags: allTags
    skuName: storageSku
    publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled'
    networkDefaultAction: isPrivate ? 'Deny' : 'Allow'
    queueNames: queueNames
    tableNames: tableNames
    containerNames: concat([deploymentContainerName], appContainerNames)
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: resourceNames.logAnalytics
    applicationInsightsName: resourceNames.applicationInsights
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
  }
}

module vault 'app/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: resourceNames.vault
    location: location
    tags: allTags
    enablePurgeProtection: vaultPurgeProtection
    softDeleteRetentionInDays: vaultSoftDeleteRetentionInDays
    publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled'
    networkDefaultAction: isPrivate ? 'Deny' : 'Allow'
    secretNames: vaultSecretNames
    inqubaPassword: inqubaPassword
    inqubaClientSecret: inqubaClientSecret
    insiderApiKey: insiderApiKey
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    vaultName: vault.outputs.name
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module privateNetwork 'app/network.bicep' = if (isPrivate) {
  name: 'network'
  params: {
    vnetName: resourceNames.vnet
    natGatewayName: resourceNames.natGateway
    publicIpName: resourceNames.natPublicIp
    location: location
    tags: allTags
    addressPrefix: vnetAddressPrefix
    appSubnetName: appSubnetName
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetName: privateEndpointSubnetName
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
  }
}

module privateEndpoints 'app/private-endpoints.bicep' = if (isPrivate) {
  name: 'private-endpoints'
  params: {
    namePrefix: prefix
    location: location
    tags: allTags
    vnetId: vnetId
    subnetId: privateEndpointSubnetId
    storageAccountName: storage.outputs.name
    vaultName: vault.outputs.name
  }
  dependsOn: [
    privateNetwork
  ]
}

module plan 'app/plan.bicep' = {
  name: 'plan'
  params: {
    name: resourceNames.plan
    location: location
    tags: allTags
  }
}

// App settings read by the app code (shared/settings.py). Numbers become strings.
var configSettings = {
  INQUBA_TOKEN_URL: empty(inqubaTokenUrl) ? 'https://${inqubaTokenHost}/${inqubaTenant}/connect/token' : inqubaTokenUrl
  INQUBA_API_URL: empty(inqubaApiUrl) ? 'https://${inqubaTenant}.inqubacx.com/cems/api' : inqubaApiUrl
  INQUBA_TOKEN_HOST: inqubaTokenHost
  INQUBA_TENANT: inqubaTenant
  INQUBA_USERNAME: inqubaUsername
  INQUBA_CLIENT_ID: inqubaClientId
  INQUBA_ALLOWED_TOKEN_HOSTS: inqubaAllowedTokenHosts
  INQUBA_TOKEN_DEFAULT_LIFETIME_SECONDS: string(inqubaTokenDefaultLifetimeSeconds)
  INQUBA_TOKEN_REFRESH_SKEW_SECONDS: string(inqubaTokenRefreshSkewSeconds)
  INSIDER_API_URL: insiderApiUrl
  INSIDER_PARTNER_NAME: insiderPartnerName
  INSIDER_ERROR_CALLBACK_URL: insiderErrorCallbackUrl
  UPSTREAM_TIMEOUT_SECONDS: string(upstreamTimeoutSeconds)
  UPSTREAM_CONNECT_TIMEOUT_SECONDS: string(upstreamConnectTimeoutSeconds)
  UPSTREAM_MAX_INLINE_RETRY_AFTER_SECONDS: string(upstreamMaxInlineRetryAfterSeconds)
  MAX_REQUEST_BODY_BYTES: string(maxRequestBodyBytes)
  MAX_BATCH_BODY_BYTES: string(maxBatchBodyBytes)
  DELIVERY_MAX_ATTEMPTS: string(deliveryMaxAttempts)
  RETRY_BASE_DELAY_SECONDS: string(retryBaseDelaySeconds)
  RETRY_MAX_DELAY_SECONDS: string(retryMaxDelaySeconds)
  OUTBOUND_LOG_RETENTION_DAYS: string(outboundLogRetentionDays)
  // The app trusts App Service Authentication's X-MS-CLIENT-PRINCIPAL only with 'entra'.
  OPERATIONS_AUTH: empty(pageAuthGroupId) ? 'function-key' : 'entra'
  OPERATIONS_ALLOWED_GROUP_ID: pageAuthGroupId
}

// Key Vault references: resolved by the platform with keyVaultReferenceIdentity (the UAMI).
// Unversioned secret URIs, so a rotated secret is picked up without a redeployment.
var vaultReferences = {
  INQUBA_PASSWORD: '@Microsoft.KeyVault(SecretUri=${vault.outputs.vaultUri}secrets/${vaultSecretNames.INQUBA_PASSWORD}/)'
  INQUBA_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${vault.outputs.vaultUri}secrets/${vaultSecretNames.INQUBA_CLIENT_SECRET}/)'
  INSIDER_API_KEY: '@Microsoft.KeyVault(SecretUri=${vault.outputs.vaultUri}secrets/${vaultSecretNames.INSIDER_API_KEY}/)'
}

var appSettings = union(configSettings, queueSettings, tableSettings, containerSettings, vaultReferences)

module api 'app/api.bicep' = {
  name: 'api'
  params: {
    name: resourceNames.functionApp
    location: location
    tags: allTags
    planId: plan.outputs.id
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    runtimeVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: appSettings
    virtualNetworkSubnetId: isPrivate ? appSubnetId : ''
  }
  // The host starts as soon as the site exists: let the identity's data roles (and, private,
  // the subnet and the endpoints it reaches storage and the vault through) exist first.
  dependsOn: [
    rbac
    privateNetwork
    privateEndpoints
  ]
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: '${prefix}-${resourceToken}'
    location: location
    tags: allTags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    alertEmail: alertEmail
    upstreamFailureRatePercent: upstreamFailureRatePercent
  }
}

module auth 'app/auth.bicep' = if (!empty(pageAuthGroupId)) {
  name: 'auth'
  params: {
    functionAppName: api.outputs.name
    clientId: pageAuthClientId
    allowedGroupId: pageAuthGroupId
    excludedPaths: signInExcludedPaths
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (names and URLs only; never a secret)
// ---------------------------------------------------------------------------------------------

output resourceGroupName string = resourceGroup().name
output functionAppName string = api.outputs.name
output functionAppBaseUrl string = 'https://${api.outputs.defaultHostName}/api'
output storageAccountName string = storage.outputs.name
output applicationInsightsName string = monitoring.outputs.applicationInsightsName
output vaultName string = vault.outputs.name
output network string = network
// network = private: the one IPv4 address all outbound calls leave from (give it to Insider and
// inQuba for their allow-lists); empty for network = public.
output outboundIpAddress string = isPrivate ? privateNetwork.outputs.outboundIpAddress : ''
// Redirect URI of the app registration for the operations page sign-in.
output pageAuthRedirectUri string = 'https://${api.outputs.defaultHostName}/.auth/login/aad/callback'

// Parameter file of infra/main.bicep (Bicep parameters file: comments allowed, compiled by the
// Bicep that ships with the az CLI). Used by scripts/deploy.sh, or directly:
//   az deployment group create --resource-group <rg> --parameters infra/main.bicepparam
//
// Values that differ per environment, and the secrets, are read from ENVIRONMENT VARIABLES when
// az compiles this file, so no secret is ever written to disk or put on a command line.
// Each variable has the name of the app setting it becomes. A variable read without a fallback
// must be set, otherwise compilation stops with "environment variable ... does not exist".
// scripts/deploy.sh checks them first and exports NAME_PREFIX from --name-prefix.
//
// The region is not a parameter here: every resource goes to the resource group's region
// (main.bicep: location = resourceGroup().location); deploy.sh creates the group in --location.
//
// Tunables below are literal values (equal to the code's defaults); edit them here.
using 'main.bicep'

// ---- Names ----------------------------------------------------------------------------------

// 2-12 lowercase letters, digits or single hyphens, starting with a letter. Every resource name
// is "<prefix>-<kind>-<hash>" (storage and vault: "st<prefix><hash>", "kv<prefix><hash>"); the
// hash comes from subscription, resource group and prefix, so redeploying reuses the same names.
param namePrefix = readEnvironmentVariable('NAME_PREFIX')

// Extra tags on every resource (an "app" tag is always added).
param tags = {}

// ---- Hosting (Flex Consumption) --------------------------------------------------------------

// Python version of the Functions runtime; the code targets 3.11.
param pythonVersion = '3.11'

// Memory per instance in MB: 512, 2048 or 4096.
param instanceMemoryMB = 2048

// Most instances the app scales out to; also caps concurrent load on inQuba and Insider.
param maximumInstanceCount = 40

// ---- Storage, monitoring, Key Vault -----------------------------------------------------------

// Storage replication: Standard_LRS (default), or Standard_ZRS / GZRS where the region offers it.
param storageSku = 'Standard_LRS'

// Days Log Analytics / Application Insights keep data (30-730).
param logRetentionInDays = 30

// Key Vault purge protection. Irreversible once true; a purge-protected vault of a deleted group
// keeps its name for vaultSoftDeleteRetentionInDays (see docs/deploy.md, "Tear down").
param vaultPurgeProtection = true

// Days a deleted vault or secret stays recoverable (7-90).
param vaultSoftDeleteRetentionInDays = 90

// Optional object ID that also gets storage and Key Vault data roles, for debugging locally
// against the real resources: export DEPLOYER_PRINCIPAL_ID=$(az ad signed-in-user show --query id -o tsv)
param deployerPrincipalId = readEnvironmentVariable('DEPLOYER_PRINCIPAL_ID', '')

// 'User' for a person, 'ServicePrincipal' for a pipeline identity, 'Group' for a group.
param deployerPrincipalType = readEnvironmentVariable('DEPLOYER_PRINCIPAL_TYPE', 'User')

// ---- Network (docs/deploy.md, "Private deployment") -----------------------------------------

// 'public' (default): storage and Key Vault on their public endpoints, Entra ID only.
// 'private': VNet integration, private endpoints, public access off on storage and Key Vault, and
// a NAT gateway whose static IPv4 (output outboundIpAddress) every outbound call leaves from.
// scripts/deploy.sh --network private exports NETWORK=private.
param network = readEnvironmentVariable('NETWORK', 'public')

// ---- Alerts and the operations page (docs/deploy.md, "Alerts") ------------------------------

// E-mail address the alerts are sent to; empty: the alerts only show in the portal (Monitor > Alerts).
param alertEmail = readEnvironmentVariable('ALERT_EMAIL', '')

// Alert when more than this percentage of the calls to inQuba or to Insider fail within 15 minutes.
param upstreamFailureRatePercent = 20

// Entra sign-in for the operations page: the object ID of the group allowed in, and the client ID
// of the app registration (docs/deploy.md, "Sign-in for the operations page"). Both empty: off.
param pageAuthGroupId = readEnvironmentVariable('PAGE_AUTH_GROUP_ID', '')

// Client ID of the app registration for the sign-in (needed when PAGE_AUTH_GROUP_ID is set).
param pageAuthClientId = readEnvironmentVariable('PAGE_AUTH_CLIENT_ID', '')

// ---- inQuba Journey (required, per environment) ---------------------------------------------

// INQUBA_TOKEN_HOST: host name of the inQuba token endpoint (must match INQUBA_ALLOWED_TOKEN_HOSTS).
param inqubaTokenHost = readEnvironmentVariable('INQUBA_TOKEN_HOST')

// INQUBA_TENANT: inQuba tenant; also forms the default token and API URLs.
param inqubaTenant = readEnvironmentVariable('INQUBA_TENANT')

// INQUBA_USERNAME: inQuba API user (its password is the secret INQUBA_PASSWORD below).
param inqubaUsername = readEnvironmentVariable('INQUBA_USERNAME')

// INQUBA_CLIENT_ID: inQuba OAuth client ID (its secret is INQUBA_CLIENT_SECRET below).
param inqubaClientId = readEnvironmentVariable('INQUBA_CLIENT_ID')

// INQUBA_TOKEN_URL: leave empty for https://<INQUBA_TOKEN_HOST>/<INQUBA_TENANT>/connect/token.
param inqubaTokenUrl = readEnvironmentVariable('INQUBA_TOKEN_URL', '')

// INQUBA_API_URL: leave empty for https://<INQUBA_TENANT>.inqubacx.com/cems/api.
param inqubaApiUrl = readEnvironmentVariable('INQUBA_API_URL', '')

// INQUBA_ALLOWED_TOKEN_HOSTS: comma-separated host patterns the token URL may point to.
param inqubaAllowedTokenHosts = '*.inqubacx.com'

// INQUBA_TOKEN_DEFAULT_LIFETIME_SECONDS: lifetime assumed when a token response states none.
param inqubaTokenDefaultLifetimeSeconds = 300

// INQUBA_TOKEN_REFRESH_SKEW_SECONDS: refresh a cached token this long before it expires.
param inqubaTokenRefreshSkewSeconds = 60

// ---- Insider (required, per environment) ----------------------------------------------------

// INSIDER_PARTNER_NAME: Insider partner name, lowercase (Insider requires it).
param insiderPartnerName = readEnvironmentVariable('INSIDER_PARTNER_NAME')

// INSIDER_API_URL: Insider UCD API base URL.
param insiderApiUrl = 'https://unification.useinsider.com/api'

// INSIDER_ERROR_CALLBACK_URL: an https URL Insider notifies when an upsert fails to unify after its 200
// (sent as error_callback_endpoint). Empty: not sent.
param insiderErrorCallbackUrl = ''

// ---- Behaviour of the app -------------------------------------------------------------------

// UPSTREAM_TIMEOUT_SECONDS: total timeout of one upstream HTTP call.
param upstreamTimeoutSeconds = 30

// UPSTREAM_CONNECT_TIMEOUT_SECONDS: connect timeout of one upstream HTTP call.
param upstreamConnectTimeoutSeconds = 5

// UPSTREAM_MAX_INLINE_RETRY_AFTER_SECONDS: longest Retry-After waited for inline; longer ones re-queue.
param upstreamMaxInlineRetryAfterSeconds = 5

// MAX_REQUEST_BODY_BYTES: largest HTTP request body accepted (1 MiB; at least 1024).
param maxRequestBodyBytes = 1048576

// MAX_BATCH_BODY_BYTES: largest body of a batch request accepted (16 MiB; at least 1024).
param maxBatchBodyBytes = 16777216

// DELIVERY_MAX_ATTEMPTS: attempts of one delivery before it is recorded as failed.
param deliveryMaxAttempts = 6

// RETRY_BASE_DELAY_SECONDS: first retry delay; later ones grow exponentially.
param retryBaseDelaySeconds = 2

// RETRY_MAX_DELAY_SECONDS: upper bound of a retry delay.
param retryMaxDelaySeconds = 300

// OUTBOUND_LOG_RETENTION_DAYS: days outbound log entries are kept.
param outboundLogRetentionDays = 30

// ---- Secrets (required; stored in Key Vault, read by the app through Key Vault references) --

// INQUBA_PASSWORD: password of INQUBA_USERNAME.
param inqubaPassword = readEnvironmentVariable('INQUBA_PASSWORD')

// INQUBA_CLIENT_SECRET: secret of INQUBA_CLIENT_ID.
param inqubaClientSecret = readEnvironmentVariable('INQUBA_CLIENT_SECRET')

// INSIDER_API_KEY: Insider UCD API key.
param insiderApiKey = readEnvironmentVariable('INSIDER_API_KEY')

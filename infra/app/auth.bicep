// Optional Microsoft Entra sign-in in front of the operations page (main.bicep: pageAuthGroupId set).
// App Service Authentication ("Easy Auth") signs users in with the app registration pageAuthClientId
// and admits only members of the group; it then passes the user to the app as X-MS-CLIENT-PRINCIPAL.
// Every route in excludedPaths skips the sign-in and keeps its function key (Power Automate,
// Logic Apps, the health probe); everything else, i.e. the page and the operations API it calls,
// needs a signed-in member. docs/deploy.md, "Sign-in for the operations page", has the set-up.

@description('Name of the Function app (same resource group).')
param functionAppName string

@description('Client (application) ID of the Entra app registration used for the sign-in.')
@minLength(1)
param clientId string

@description('Object ID of the Entra group whose members may use the operations page.')
@minLength(1)
param allowedGroupId string

@description('Paths that skip the sign-in (trailing /* matches everything below).')
param excludedPaths array

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// checkov applies its checks of the site's `web` config to every Microsoft.Web/sites/config
// resource; on authsettingsV2 they test properties it does not have.
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: checkov reads the v1 authsettings schema (properties.enabled); this v2 resource turns authentication on with platform.enabled, which the function-app authentication check reads and passes
  // checkov:skip=CKV_AZURE_222: authsettingsV2 has no publicNetworkAccess; the site's own setting is CKV_AZURE_222 in app/api.bicep
  // checkov:skip=CKV_AZURE_63: HTTP logging is a property of the web config, not of authsettingsV2 (and an IIS log feature Flex Consumption does not offer; requests go to Application Insights)
  // checkov:skip=CKV_AZURE_65: detailed error messages are a property of the web config, not of authsettingsV2 (an IIS feature; Flex Consumption has none)
  // checkov:skip=CKV_AZURE_66: failed request tracing is a property of the web config, not of authsettingsV2 (an IIS feature; Flex Consumption has none)
  // checkov:skip=CKV_AZURE_80: the .NET Framework version is a property of the web config, not of authsettingsV2; the app is Python
  // checkov:skip=CKV_AZURE_88: Azure Files mounts are a property of the azurestorageaccounts config, not of authsettingsV2; Flex Consumption deploys from a blob container
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      // A browser is sent to the Entra sign-in page; the excluded API routes never see this.
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: excludedPaths
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          // Single-tenant: the app registration lives in the tenant of the subscription.
          openIdIssuer: '${environment().authentication.loginEndpoint}${subscription().tenantId}/v2.0'
          clientId: clientId
        }
        validation: {
          // Admit only group members (needs the groups claim: groupMembershipClaims on the registration).
          defaultAuthorizationPolicy: {
            allowedPrincipals: {
              groups: [
                allowedGroupId
              ]
            }
          }
        }
      }
    }
    login: {
      // The page needs the session cookie only, not the users' tokens: no token store.
      tokenStore: {
        enabled: false
      }
    }
  }
}

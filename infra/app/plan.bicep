// Flex Consumption hosting plan (FC1). Linux only (reserved: true); Linux Consumption (Y1)
// gets no new features and retires on 30 Sep 2028.

@description('Name of the hosting plan.')
param name string

@description('Azure region (must support Flex Consumption: az functionapp list-flexconsumption-locations).')
param location string

@description('Tags applied to the plan.')
param tags object = {}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy is off - it needs ZRS storage and an availability-zone region, not a fit for the default deployment
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

output id string = plan.id
output name string = plan.name

// Azure Monitor alerts on the app's telemetry in Application Insights (docs/deploy.md, "Alerts",
// has the contract the app emits):
//   dead-lettered   any log record with customDimensions.event == "dead_lettered" (traces)
//   upstream        failed / all outbound calls per target above failureRatePercent (dependencies)
//   insider-paused  any log record with customDimensions.event == "insider_paused" (traces)
// Each rule looks at the last 15 minutes, every 15 minutes. With an e-mail address the action group
// mails it; without one the rules still fire and show under Monitor > Alerts.

@description('Prefix of the rule and action group names.')
param namePrefix string

@description('Azure region of the alert rules.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Application Insights component the rules query (same resource group).')
param applicationInsightsName string

@description('E-mail address the alerts go to. Empty: no action group; the alerts only show in the portal.')
param alertEmail string = ''

@description('Alert when failed / all calls to one upstream (inquba, insider) exceed this percentage over 15 minutes.')
@minValue(1)
@maxValue(100)
param upstreamFailureRatePercent int = 20

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-alerts'
  location: 'global'
  tags: tags
  properties: {
    // At most 12 characters; shown as the sender of SMS and in e-mail subjects.
    groupShortName: 'inq-ins'
    enabled: true
    emailReceivers: [
      {
        name: 'operations'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// The window both sides of every rule use: the query's time range and how often it runs.
var window = 'PT15M'

// KQL over the classic Application Insights tables; no time filter in the queries: the rule's
// windowSize sets the range. Each query returns one row per dimension value with a number in
// its last column, which the condition compares with the threshold.
var rules = [
  {
    key: 'dead-lettered'
    displayName: 'Items were dead-lettered'
    description: 'The app dead-lettered an item (traces: customDimensions.event == "dead_lettered", with queue and identifier). Inspect and replay it from the operations page.'
    severity: 1
    query: '''
traces
| where tostring(customDimensions.event) == "dead_lettered"
| extend queue = tostring(customDimensions.queue)
| summarize deadLettered = count() by queue
'''
    measure: 'deadLettered'
    dimension: 'queue'
    threshold: 0
  }
  {
    key: 'upstream-failures'
    displayName: 'Upstream failure rate is high'
    description: 'Failed outbound calls (non-2xx or no response) as a percentage of all calls to inQuba or Insider (dependencies: customDimensions["upstream.target"], success).'
    severity: 2
    query: '''
dependencies
| extend target = tostring(customDimensions["upstream.target"])
| where target in ("inquba", "insider")
| summarize calls = count(), failed = countif(success == false) by target
| extend failureRatePercent = 100.0 * failed / calls
'''
    measure: 'failureRatePercent'
    dimension: 'target'
    threshold: upstreamFailureRatePercent
  }
  {
    key: 'insider-paused'
    displayName: 'Insider deliveries are paused'
    description: 'The app paused deliveries to Insider (traces: customDimensions.event == "insider_paused"). Resume them from the operations page once Insider is healthy.'
    severity: 1
    query: '''
traces
| where tostring(customDimensions.event) == "insider_paused"
| summarize paused = count()
'''
    measure: 'paused'
    dimension: ''
    threshold: 0
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: '${namePrefix}-${rule.key}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: window
    windowSize: window
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Maximum'
          metricMeasureColumn: rule.measure
          operator: 'GreaterThan'
          threshold: rule.threshold
          dimensions: empty(rule.dimension) ? [] : [
            {
              name: rule.dimension
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: empty(alertEmail) ? [] : [
        actionGroup.id
      ]
    }
  }
}]


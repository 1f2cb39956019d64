"""Operations resources in the parsed Bicep: the alert rules and the optional sign-in of the page.

The alert queries must use the telemetry contract of docs/deploy.md ("Alerts"); the sign-in must
be off by default and, when on, leave every route but the operations ones to their function keys.
"""

from __future__ import annotations

import re

from tests.infra.helpers import (
    FUNCTION_APP,
    accessor,
    conditional,
    decorators,
    empty,
    module,
    not_empty,
    of_type,
    one,
    resources,
    variable,
)

# Operations page and the operations API it calls (issue 15): these need the sign-in when it is on.
OPERATIONS_ROUTES = ("/api/operations", "/api/outbound-logs", "/api/stats", "/api/dead-letters", "/api/insider/resume",
                     "/api/insider/profile")


def _rules(templates: dict[str, dict]) -> dict[str, dict]:
    return {rule["key"]: rule for rule in variable(templates["app/alerts.bicep"], "rules")}


def test_alert_rules_query_the_telemetry_contract_over_15_minutes(templates: dict[str, dict]) -> None:
    alerts = templates["app/alerts.bicep"]
    rules = _rules(templates)
    assert set(rules) == {"dead-lettered", "upstream-failures", "insider-paused"}

    dead = rules["dead-lettered"]
    assert dead["query"].startswith("traces\n")
    assert 'tostring(customDimensions.event) == "dead_lettered"' in dead["query"]
    assert "customDimensions.queue" in dead["query"]
    assert (dead["measure"], dead["dimension"], dead["threshold"]) == ("deadLettered", "queue", 0)

    paused = rules["insider-paused"]
    assert paused["query"].startswith("traces\n")
    assert 'tostring(customDimensions.event) == "insider_paused"' in paused["query"]
    assert (paused["measure"], paused["threshold"]) == ("paused", 0)

    upstream = rules["upstream-failures"]
    query = upstream["query"]
    assert query.startswith("dependencies\n")
    assert 'customDimensions["upstream.target"]' in query
    assert 'target in ("inquba", "insider")' in query
    assert "countif(success == false)" in query
    assert "failureRatePercent = 100.0 * failed / calls" in query
    assert "by target" in query
    assert (upstream["measure"], upstream["dimension"]) == ("failureRatePercent", "target")
    assert upstream["threshold"] == "upstreamFailureRatePercent"
    for rule in rules.values():
        # The rule's window sets the time range: a filter in the query would fight it.
        assert "ago(" not in rule["query"] and "timestamp" not in rule["query"], rule["key"]
        assert f"| summarize {rule['measure']} = " in rule["query"] or f"extend {rule['measure']} = " in rule["query"]

    found = resources(alerts)
    rule = found["alertRules"]
    assert rule["type"] == "Microsoft.Insights/scheduledQueryRules"
    assert rule["loop"]["detail"]["array_name"] == "rules"
    props = rule["body"]["properties"]
    assert variable(alerts, "window") == "PT15M"
    assert (props["evaluationFrequency"], props["windowSize"]) == ("window", "window")
    assert rule["body"]["kind"] == "LogAlert"
    assert props["scopes"] == [accessor("appInsights", "id")]
    assert found["appInsights"]["existing"] and found["appInsights"]["type"] == "Microsoft.Insights/components"
    [condition] = props["criteria"]["allOf"]
    assert condition["query"] == accessor("rule", "query")
    assert condition["metricMeasureColumn"] == accessor("rule", "measure")
    assert (condition["operator"], condition["threshold"]) == ("GreaterThan", accessor("rule", "threshold"))
    assert condition["failingPeriods"] == {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1}


def test_alerts_go_to_the_action_group_of_the_email_parameter(templates: dict[str, dict]) -> None:
    alerts, main = templates["app/alerts.bicep"], templates["main.bicep"]
    [(name, group)] = of_type(alerts, "Microsoft.Insights/actionGroups").items()
    assert group["condition"] == not_empty("alertEmail")
    receivers = group["body"]["properties"]["emailReceivers"]
    assert [r["emailAddress"] for r in receivers] == ["alertEmail"]
    assert len(group["body"]["properties"]["groupShortName"]) <= 12
    actions = resources(alerts)["alertRules"]["body"]["properties"]["actions"]
    assert actions["actionGroups"] == conditional(empty("alertEmail"), [], [accessor(name, "id")])

    body, condition = module(main, "alerts")
    assert condition is None, "the alert rules exist in every deployment"
    assert body["params"]["alertEmail"] == "alertEmail"
    assert body["params"]["upstreamFailureRatePercent"] == "upstreamFailureRatePercent"
    assert body["params"]["applicationInsightsName"] == accessor("monitoring", "outputs", "applicationInsightsName")
    assert main["parameters"]["alertEmail"]["default"] == ""
    assert main["parameters"]["upstreamFailureRatePercent"]["default"] == 20


def test_page_sign_in_is_off_by_default_and_on_with_the_group_parameter(templates: dict[str, dict]) -> None:
    main = templates["main.bicep"]
    assert main["parameters"]["pageAuthGroupId"]["default"] == ""
    assert main["parameters"]["pageAuthClientId"]["default"] == ""
    body, condition = module(main, "auth")
    assert condition == not_empty("pageAuthGroupId"), "authsettingsV2 is deployed only when sign-in is on"
    assert body["params"] == {
        "functionAppName": accessor("api", "outputs", "name"),
        "clientId": "pageAuthClientId",
        "allowedGroupId": "pageAuthGroupId",
        "excludedPaths": "signInExcludedPaths",
    }
    # The app trusts the sign-in header only with OPERATIONS_AUTH=entra, and checks the group.
    settings = variable(main, "configSettings")
    assert settings["OPERATIONS_AUTH"] == conditional(empty("pageAuthGroupId"), "function-key", "entra")
    assert settings["OPERATIONS_ALLOWED_GROUP_ID"] == "pageAuthGroupId"

    auth = templates["app/auth.bicep"]
    found = resources(auth)
    assert found["site"]["existing"] and found["site"]["type"] == "Microsoft.Web/sites"
    config = one(auth, "Microsoft.Web/sites/config")
    assert (config["parent"], config["name"]) == ("site", "authsettingsV2")
    props = config["properties"]
    assert props["platform"] == {"enabled": True}
    assert props["globalValidation"] == {
        "requireAuthentication": True,
        "unauthenticatedClientAction": "RedirectToLoginPage",
        "redirectToProvider": "azureactivedirectory",
        "excludedPaths": "excludedPaths",
    }
    aad = props["identityProviders"]["azureActiveDirectory"]
    assert aad["enabled"] is True
    assert aad["registration"]["clientId"] == "clientId"
    assert aad["registration"]["openIdIssuer"].endswith("${subscription().tenantId}/v2.0")
    assert aad["validation"]["defaultAuthorizationPolicy"] == {"allowedPrincipals": {"groups": ["allowedGroupId"]}}
    assert props["httpSettings"] == {"requireHttps": True}
    # Both inputs are required by the module: sign-in with an empty client ID fails validation.
    for param in ("clientId", "allowedGroupId"):
        assert decorators(auth["parameters"][param])["min_length"] == 1, param


def _app_routes() -> list[str]:
    """The HTTP routes of function_app.py as URL paths (route prefix "api", host.json)."""
    text = FUNCTION_APP.read_text(encoding="utf-8")
    return ["/api/" + route for route in re.findall(r'@app\.route\(route="([^"]+)"', text)]


def _excluded(path: str, patterns: list[str]) -> bool:
    """App Service Authentication's excludedPaths match: exact, or a trailing /* for everything below."""
    return any(path == p or (p.endswith("/*") and path.startswith(p[:-1])) for p in patterns)


def test_sign_in_exclusions_leave_only_the_operations_routes_behind_the_sign_in(templates: dict[str, dict]) -> None:
    excluded = variable(templates["main.bicep"], "signInExcludedPaths")
    routes = _app_routes()
    assert "/api/outbound-logs/page" in routes and "/api/inquba/events" in routes, routes
    for route in routes:
        operations = route.startswith(OPERATIONS_ROUTES)
        # Operations routes need the sign-in; every other route keeps its function key only.
        assert _excluded(route, excluded) != operations, f"{route}: {'operations' if operations else 'API'} route"
    for pattern in excluded:
        assert any(_excluded(route, [pattern]) for route in routes), f"{pattern} matches no route"
    for route in OPERATIONS_ROUTES:
        assert not _excluded(route, excluded), route

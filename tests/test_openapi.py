"""GET /api/v1/openapi.json describes every contract endpoint and is a valid OpenAPI 3 document."""
from openapi_spec_validator import validate

CONTRACT = {
    ("post", "/api/v1/auth/tokens"), ("delete", "/api/v1/auth/tokens/current"),
    ("post", "/api/v1/users"), ("patch", "/api/v1/users/{user_id}"),
    ("post", "/api/v1/units"), ("get", "/api/v1/units"), ("get", "/api/v1/units/{unit_id}"),
    ("post", "/api/v1/units/{unit_id}/platform-exceptions"),
    ("post", "/api/v1/accounts"), ("get", "/api/v1/accounts"),
    ("get", "/api/v1/accounts/{account_id}"), ("put", "/api/v1/accounts/{account_id}/credentials"),
    ("post", "/api/v1/accounts/{account_id}/events"), ("get", "/api/v1/filings"),
    ("post", "/api/v1/filings/{filing_id}/complete"), ("post", "/api/v1/accounts/{account_id}/posts"),
    ("post", "/api/v1/accounts/{account_id}/stats"),
    ("get", "/api/v1/tasks"), ("post", "/api/v1/tasks/{task_id}/complete"),
    ("get", "/api/v1/messages"), ("post", "/api/v1/messages/{message_id}/reply"),
    ("get", "/callbacks/wechat/{account_id}"), ("post", "/callbacks/wechat/{account_id}"),
}


def test_openapi_is_valid_and_complete(client, app):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    described = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert CONTRACT <= described, CONTRACT - described
    # Every API route of the app is described, not just the contract's.
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "registry_api.openapi":
            assert getattr(app.view_functions[rule.endpoint], "_openapi", None), rule.rule
    account = spec["components"]["schemas"]["AccountIn"]
    assert set(account["required"]) == {"unit_id", "platform", "name", "handle", "opened_on"}
    assert "wechat" in str(account["properties"]["platform"])
    assert spec["paths"]["/api/v1/auth/tokens"]["post"].get("security") is None
    complete = spec["components"]["schemas"]["CompleteIn"]["properties"]
    assert {"post_url", "screenshot_base64"} <= set(complete)
    status = next(p for p in spec["paths"]["/api/v1/tasks"]["get"]["parameters"]
                  if p["name"] == "status")
    assert status["schema"]["enum"] == ["open", "overdue", "done"]
    # issue 14: the inspection moment, its instant and its 400
    inspection = spec["paths"]["/api/v1/supervision/inspection"]["get"]
    assert {p["name"] for p in inspection["parameters"]} >= {"moment", "unit_id"}
    assert next(p for p in inspection["parameters"] if p["name"] == "moment")["schema"] == {
        "type": "string", "format": "date-time"}
    assert {"200", "400", "401", "403"} <= set(inspection["responses"])

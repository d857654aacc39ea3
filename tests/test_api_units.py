"""Contract: units, credit codes, platform exceptions, unit scoping."""
VALID_CODE = "11450100007565386" + "7"   # check character computed by GB 32100-2015


def test_create_unit_with_everything(admin_api):
    parent = admin_api.post("/api/v1/units", {"name": "某县人民政府"}).get_json()
    response = admin_api.post("/api/v1/units", {
        "name": "某县人民政府办公室", "code": VALID_CODE, "parent_id": parent["id"],
        "leader": "王主任", "deputy_leader": "李副主任", "office": "信息科",
        "contacts": [{"name": "赵六", "phone": "0771-1234567"}]})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["code"] == VALID_CODE and body["parent_id"] == parent["id"]
    assert body["leader"] == "王主任" and body["deputy_leader"] == "李副主任"
    assert body["contacts"][0]["name"] == "赵六"
    assert admin_api.get(f"/api/v1/units/{body['id']}").get_json()["name"] == "某县人民政府办公室"


def test_bad_credit_code_names_the_field(admin_api):
    wrong_check = VALID_CODE[:-1] + ("8" if VALID_CODE[-1] != "8" else "9")
    for code in (wrong_check, "123", "11450100007565386I"):
        response = admin_api.post("/api/v1/units", {"name": "某单位", "code": code})
        assert response.status_code == 400, code
        error = response.get_json()["error"]
        assert error["code"] == "invalid" and "code" in error["fields"]
    assert admin_api.get("/api/v1/units").get_json()["total"] == 0


def test_duplicate_credit_code_conflicts(admin_api):
    admin_api.post("/api/v1/units", {"name": "甲", "code": VALID_CODE})
    response = admin_api.post("/api/v1/units", {"name": "乙", "code": VALID_CODE})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "code_taken"


def test_missing_parent_and_wrong_types(admin_api):
    response = admin_api.post("/api/v1/units", {"name": "甲", "parent_id": 999})
    assert response.status_code == 400 and "parent_id" in response.get_json()["error"]["fields"]
    response = admin_api.post("/api/v1/units", {"name": 5})
    assert response.status_code == 400 and "name" in response.get_json()["error"]["fields"]
    response = admin_api.post("/api/v1/units", data=b'{"name": ', content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid"


def test_supervisor_creates_units_sponsor_cannot(world):
    assert world.supervisor.post("/api/v1/units", {"name": "新单位"}).status_code == 201
    assert world.sponsor_a.post("/api/v1/units", {"name": "新单位2"}).status_code == 403


def test_sponsor_sees_only_own_unit(world):
    items = world.sponsor_a.get("/api/v1/units").get_json()
    assert [u["id"] for u in items["items"]] == [world.unit_a["id"]] and items["total"] == 1
    other = world.sponsor_a.get(f"/api/v1/units/{world.unit_b['id']}")
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "forbidden"
    assert world.supervisor.get("/api/v1/units").get_json()["total"] == 2


def test_platform_exception_only_by_supervisor(world):
    path = f"/api/v1/units/{world.unit_a['id']}/platform-exceptions"
    denied = world.sponsor_a.post(path, {"platform": "weibo", "reason": "两个职能不同的科室"})
    assert denied.status_code == 403
    response = world.supervisor.post(path, {"platform": "weibo", "reason": "两个职能不同的科室"})
    assert response.status_code == 201
    assert response.get_json()["platform"] == "weibo"
    bad = world.supervisor.post(path, {"platform": "myspace", "reason": "x理由"})
    assert bad.status_code == 400 and "platform" in bad.get_json()["error"]["fields"]


def test_unknown_unit_is_not_found(admin_api):
    response = admin_api.get("/api/v1/units/424242")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_list_paging(admin_api):
    for i in range(7):
        admin_api.post("/api/v1/units", {"name": f"单位{i}"})
    page = admin_api.get("/api/v1/units", limit=3, offset=3).get_json()
    assert page["total"] == 7 and [u["name"] for u in page["items"]] == ["单位3", "单位4", "单位5"]
    assert admin_api.get("/api/v1/units", limit=501).status_code == 400
    assert admin_api.get("/api/v1/units", limit="x").status_code == 400

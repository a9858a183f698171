"""Open311 GeoReport v2 over real HTTP: the spec's shapes in both formats, keys, privacy, and a
published client (PyPI `georeport`) following a request from open to closed after the worker's 办结."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import httpx
import pytest
import requests
from georeport import GeoReport
from sqlalchemy import func, select

from models import ApiKey, AuditLog, Case, InboundMessage, OutboxMessage, Resident, Unit
from tests.cli import run_cli
from tests.e2e.admin_client import logged_in
from tests.e2e.worker_chat import digits, queued, show

SANITATION = "sanitation"  # 环境卫生's service code in config/catalogue.yaml


def new_key(database_url: str, name: str, *extra: str) -> str:
    """`gridbot apikey add NAME`: the key is the last line printed."""
    result = run_cli(["apikey", "add", name, *extra], database_url)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def api(app_url) -> httpx.Client:
    with httpx.Client(base_url=f"{app_url}/open311/v2", timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def key(database_url) -> str:
    return new_key(database_url, "hotline")


@pytest.fixture(scope="module")
def unit(db) -> Unit:
    """demo-resident's unit (demo-worker's grid)."""
    with db() as session:
        resident = session.scalars(select(Resident).where(Resident.userid == "demo-resident")).one()
        found = session.get(Unit, resident.unit_id)
        session.expunge(found)
        return found


def file(api: httpx.Client, key: str, unit: Unit, fmt: str = "json", **fields) -> httpx.Response:
    form = {"api_key": key, "service_code": SANITATION, "address_id": unit.code,
            "description": "小区门口垃圾桶满了好几天没人清理", **fields}
    return api.post(f"/requests.{fmt}", data=form)


def written(db) -> dict[str, int]:
    with db() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Case, InboundMessage, AuditLog, Resident, OutboxMessage)}


def xml(response: httpx.Response) -> ElementTree.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers
    return ElementTree.fromstring(response.content)


def test_discovery_names_the_endpoint_and_both_formats(api, app_url):
    found = api.get("/discovery.json").json()
    endpoint = found["endpoints"][0]
    assert endpoint["url"] == f"{app_url}/open311/v2" and endpoint["specification"].endswith("GeoReport_v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"} and found["key_service"]
    root = xml(api.get("/discovery.xml"))
    assert root.tag == "discovery" and root.findtext("endpoints/endpoint/url") == endpoint["url"]
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_services_are_the_catalogue_in_both_formats(api):
    services = {s["service_code"]: s for s in api.get("/services.json").json()}
    sanitation = services[SANITATION]
    assert sanitation["service_name"] == "环境卫生" and sanitation["group"] == "网格事项"
    assert sanitation["type"] == "realtime" and sanitation["metadata"] is True and "垃圾" in sanitation["keywords"]
    assert services["tax"]["group"] == "部门事项" and services["tax"]["metadata"] is False
    root = xml(api.get("/services.xml"))
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    element = next(s for s in root.findall("service") if s.findtext("service_code") == SANITATION)
    assert [child.tag for child in element] == list(sanitation)  # the spec's fields, in its order
    assert element.findtext("metadata") == "true" and element.findtext("group") == "网格事项"


def test_service_definition_lists_attributes_in_both_formats(api):
    definition = api.get("/services/fire-safety.json").json()
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert definition["service_code"] == "fire-safety" and set(attributes) == {"building", "urgent"}
    assert attributes["urgent"]["datatype"] == "singlevaluelist" and attributes["urgent"]["variable"] is True
    assert attributes["urgent"]["values"] == [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]
    root = xml(api.get("/services/fire-safety.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "fire-safety"
    urgent = next(a for a in root.findall("attributes/attribute") if a.findtext("code") == "urgent")
    assert [(v.findtext("key"), v.findtext("name")) for v in urgent.findall("values/value")] == [("yes", "是"),
                                                                                                ("no", "否")]
    missing = api.get("/services/no-such.xml")
    assert missing.status_code == 404 and xml(missing).findtext("error/code") == "404"


def test_a_filed_request_is_a_routed_case_on_the_clock_in_both_formats(api, key, unit, db, database_url):
    answer = file(api, key, unit, **{"attribute[building]": "2栋", "account_id": "acct-7"})
    assert answer.status_code == 200, answer.text
    [filed] = answer.json()
    assert filed["account_id"] == "acct-7" and filed["service_request_id"] in filed["service_notice"]
    case = show(filed["service_request_id"], database_url)  # `gridbot case show` finds it by that id
    assert case["source"] == "open311:hotline" and case["category"] == "环境卫生"
    assert case["unit"] == unit.code and case["assignee"] == "demo-worker" and case["take_due"]
    assert "楼栋：2栋" in case["text"]
    number = filed["service_request_id"]
    assert queued(db, "demo-worker", number)  # the assignee hears of it, as of a chat report
    with db() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.target == number)).one()
    assert audit.actor == "apikey:hotline" and audit.action == "open311_request"
    root = xml(file(api, key, unit, fmt="xml", description="路边垃圾箱满了"))
    assert root.tag == "service_requests"
    assert re.fullmatch(r"GB-\d{6}", root.findtext("request/service_request_id"))


def test_a_department_matter_goes_straight_to_the_department_that_takes_it(api, key, unit, db):
    """As a resident's does (config/departments.yaml direct_routing; the demo's 市场监管 takes 消费维权)."""
    answer = file(api, key, unit, service_code="consumer-rights", description="超市卖过期牛奶")
    assert answer.status_code == 200, answer.text
    number = answer.json()[0]["service_request_id"]
    assert "市场监管" in answer.json()[0]["service_notice"]
    with db() as session:
        case = session.get(Case, int(number[3:]))
        assert case.department == "市场监管" and case.source == "open311:hotline" and case.take_due is None
    assert queued(db, "dept-sj-1", number)  # the department's liaison is called to 报到
    assert api.get(f"/requests/{number}.json").json()[0]["agency_responsible"] == "市场监管"


def test_a_wrong_or_revoked_key_is_403_and_writes_nothing(api, unit, db, database_url):
    revoked = new_key(database_url, "revoked-partner")
    assert run_cli(["apikey", "revoke", "revoked-partner"], database_url).exit_code == 0
    before = written(db)
    for bad in ("gb311_not-a-key", revoked, ""):
        for fmt in ("json", "xml"):
            answer = file(api, bad, unit, fmt=fmt)
            assert answer.status_code == 403
            body = answer.json() if fmt == "json" else [{"code": int(xml(answer).findtext("error/code"))}]
            assert body[0]["code"] == 403
    assert written(db) == before


def test_bad_requests_are_400_and_write_nothing(api, key, unit, db):
    before = written(db)
    cases = {"no service_code": {"service_code": ""}, "unknown code": {"service_code": "no-such"},
             "department matter": {"service_code": "tax"}, "no place": {"address_id": ""},
             "unknown unit": {"address_id": "000"}, "far away": {"address_id": "", "lat": "40.0", "long": "116.4"},
             "bad choice": {"service_code": "fire-safety", "attribute[urgent]": "maybe"}}
    for why, fields in cases.items():
        answer = file(api, key, unit, **fields)
        assert answer.status_code == 400, why
        [error] = answer.json()
        assert error["code"] == 400 and error["description"], why
    assert api.post("/requests.json", data={"api_key": key, "description": "垃" * 30_000}).status_code == 413
    multipart = api.post("/requests.json", data={"api_key": key, "service_code": SANITATION},
                         files={"media": ("photo.jpg", b"\xff\xd8")})
    assert multipart.status_code == 400
    assert written(db) == before


def test_gets_carry_no_personal_data(api, key, unit, db, wecom):
    lat, lng = unit.lat + 0.0002, unit.lng - 0.0002
    person = {"first_name": "小明", "last_name": "王", "phone": "13912345678", "email": "wang@example.com"}
    answer = file(api, key, unit, address_id="", lat=str(lat), long=str(lng),
                  description="垃圾桶满了，联系电话13912345678", **person)
    number = answer.json()[0]["service_request_id"]
    wecom.send_text("demo-resident", "阳光小区门口的垃圾桶满了，我是李四，电话13800001111")
    for fmt in ("json", "xml"):
        for path in (f"/requests/{number}.{fmt}", f"/requests.{fmt}"):
            body = api.get(path).text
            for secret in ("小明", "13912345678", "wang@example.com", "李四", "13800001111", str(lat), str(lng)):
                assert secret not in body, (path, secret)
    [request] = api.get(f"/requests/{number}.json").json()
    assert request["lat"] == unit.lat and request["long"] == unit.lng and request["address_id"] == unit.code
    assert "139****5678" in request["description"]
    with db() as session:  # the worker still sees who reported it
        case = session.get(Case, int(number[3:]))
        assert case.resident.name == "王 小明" and case.resident.phone == "13912345678"


def test_requests_filter_and_page(api, key, unit):
    numbers = [file(api, key, unit, description=f"垃圾桶第{n}次满了").json()[0]["service_request_id"]
               for n in range(3)]
    listed = api.get("/requests.json", params={"service_request_id": ",".join(numbers)}).json()
    assert sorted(r["service_request_id"] for r in listed) == sorted(numbers)
    first = api.get("/requests.json", params={"service_code": SANITATION, "page_size": 2}).json()
    second = api.get("/requests.json", params={"service_code": SANITATION, "page_size": 2, "page": 2}).json()
    assert len(first) == 2 and not {r["service_request_id"] for r in first} & {r["service_request_id"] for r in second}
    assert all(r["service_code"] == SANITATION for r in first + second)
    assert all(r["status"] == "open" for r in api.get("/requests.json", params={"status": "open"}).json())
    assert api.get("/requests.json", params={"status": "closed", "service_request_id": numbers[0]}).json()
    too_long = api.get("/requests.xml", params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"})
    assert too_long.status_code == 400 and xml(too_long).findtext("error/code") == "400"
    assert api.get("/requests/GB-999999.json").status_code == 404


def test_tokens_resolve_to_the_request_id(api, key, unit, db):
    number = file(api, key, unit).json()[0]["service_request_id"]
    with db() as session:
        token = session.scalar(select(InboundMessage.msg_key).where(InboundMessage.case_id == int(number[3:])))
    assert api.get(f"/tokens/{token}.json").json() == [{"service_request_id": number, "token": token}]
    assert xml(api.get(f"/tokens/{token}.xml")).findtext("request/service_request_id") == number
    assert api.get("/tokens/o311-unknown.json").status_code == 404


def test_each_key_has_its_own_rate(api, unit, database_url):
    slow = new_key(database_url, "slow-partner", "--rate", "2")
    assert [file(api, slow, unit).status_code for _ in range(3)] == [200, 200, 429]
    assert api.post("/requests.json", data={"api_key": slow}).json()[0]["code"] == 429


def test_apikey_list_shows_no_key_and_only_a_hash_is_stored(database_url, db):
    key = new_key(database_url, "listed-partner")
    result = run_cli(["apikey", "list", "--json"], database_url)
    assert key not in result.stdout
    listed = {row["name"]: row for row in json.loads(result.stdout)}
    assert listed["listed-partner"]["active"] and key.startswith(listed["listed-partner"]["prefix"])
    with db() as session:
        stored = session.scalars(select(ApiKey).where(ApiKey.name == "listed-partner")).one()
    assert key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    assert run_cli(["apikey", "add", "listed-partner"], database_url).exit_code == 1
    assert run_cli(["apikey", "revoke", "nobody"], database_url).exit_code == 1


def test_georeport_client_follows_a_request_from_open_to_closed(app_url, key, unit, wecom, db):
    """PyPI's `georeport` reads; it cannot create, so the request is a plain form POST with `requests`."""
    root = f"{app_url}/open311/v2"
    client, xml_client = GeoReport(root), GeoReport(root, output_format="xml")
    codes = [service["service_code"] for service in client.get_service_list()]
    assert SANITATION in codes and [s["service_code"] for s in xml_client.get_service_list()] == codes
    assert {a["code"] for a in client.get_service_definition("fire-safety")["attributes"]} == {"building", "urgent"}
    answer = requests.post(f"{root}/requests.json", data={
        "api_key": key, "service_code": SANITATION, "lat": unit.lat, "long": unit.lng,
        "description": "垃圾站旁边堆满了生活垃圾", "attribute[building]": "1栋"}, timeout=10)
    assert answer.status_code == 200, answer.text
    number = answer.json()[0]["service_request_id"]
    opened = client.get_service_request(number)
    assert opened["status"] == "open" and opened["agency_responsible"] and opened["expected_datetime"]
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {digits(number)}")
    assert client.get_service_request(number)["status"] == "open"
    wecom.send_text("demo-worker", f"办结 {digits(number)} 垃圾已清运")
    closed = client.get_service_request(number)
    assert closed["status"] == "closed" and "垃圾已清运" in closed["status_notes"]
    assert closed["expected_datetime"] is None and closed["updated_datetime"] >= opened["updated_datetime"]
    assert xml_client.get_service_request(number)["status"] == "closed"
    assert number in [r["service_request_id"] for r in client.get_service_requests(status="closed")]
    assert not queued(db, "open311:hotline")  # nobody to chat with: the partner reads the API


def test_console_creates_shows_once_and_revokes_a_key(app_url, api, unit, db):
    assert httpx.get(f"{app_url}/admin/apikeys").status_code == 303  # login first
    admin = logged_in(app_url)
    try:
        page = admin.post("/admin/apikeys", {"name": "city-app", "rate": "30"})
        key = re.search(r'<code id="apikey-value">([^<]+)</code>', page.text).group(1)
        assert file(api, key, unit).status_code == 200
        listed = admin.get("/admin/apikeys").text
        assert key not in listed and 'data-key="city-app"' in listed
        assert admin.post("/admin/apikeys/city-app/revoke").status_code == 303
    finally:
        admin.close()
    assert file(api, key, unit).status_code == 403
    with db() as session:
        actions = set(session.scalars(select(AuditLog.action).where(AuditLog.target == "city-app")))
    assert actions == {"apikey_add", "apikey_revoke"}

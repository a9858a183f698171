"""The GeoReport v2 spec's own examples: each JSON example, rendered as XML, is the spec's XML example."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from bot.open311.formats import answer, errors, to_xml

SERVICES = ([{"service_code": "001", "service_name": "Cans left out 24x7",
              "description": "Garbage or recycling cans that have been left out for more than 24 hours after "
                             "collection. Violators will be cited.",
              "metadata": True, "type": "realtime", "keywords": "lorem, ipsum, dolor", "group": "sanitation"}],
            """<services><service><service_code>001</service_code><service_name>Cans left out 24x7</service_name>
<description>Garbage or recycling cans that have been left out for more than 24 hours after collection. Violators
 will be cited.</description><metadata>true</metadata><type>realtime</type><keywords>lorem, ipsum, dolor</keywords>
<group>sanitation</group></service></services>""")

DEFINITION = ({"service_code": "DMV66", "attributes": [
    {"variable": True, "code": "WHISHETN", "datatype": "singlevaluelist", "required": True,
     "datatype_description": None, "order": 1, "description": "What is the ticket/tag/DL number?",
     "values": [{"key": "123", "name": "Ford"}, {"key": "124", "name": "Chrysler"}]}]},
    """<service_definition><service_code>DMV66</service_code><attributes><attribute><variable>true</variable>
<code>WHISHETN</code><datatype>singlevaluelist</datatype><required>true</required><datatype_description/>
<order>1</order><description>What is the ticket/tag/DL number?</description><values><value><key>123</key>
<name>Ford</name></value><value><key>124</key><name>Chrysler</name></value></values></attribute></attributes>
</service_definition>""")

CREATED = ([{"service_request_id": "293944", "service_notice": "The City will inspect and require the responsible "
             "party to correct within 24 hours and/or issue a Correction Notice or Notice of Violation of the "
             "Public Works Code", "account_id": None}],
           """<service_requests><request><service_request_id>293944</service_request_id><service_notice>The City
 will inspect and require the responsible party to correct within 24 hours and/or issue a Correction Notice or Notice
 of Violation of the Public Works Code</service_notice><account_id/></request></service_requests>""")

TOKEN = ([{"service_request_id": "638344", "token": "12345"}],
         """<service_requests><request><service_request_id>638344</service_request_id><token>12345</token></request>
</service_requests>""")

REQUESTS = ([{"service_request_id": "638344", "status": "closed", "status_notes": "Duplicate request.",
              "service_name": "Sidewalk and Curb Issues", "service_code": "006", "description": None,
              "agency_responsible": None, "service_notice": None,
              "requested_datetime": "2010-04-14T06:37:38-08:00", "updated_datetime": "2010-04-14T06:37:38-08:00",
              "expected_datetime": "2010-04-15T06:37:38-08:00", "address": "8TH AVE and JUDAH ST",
              "address_id": "545483", "zipcode": "94122", "lat": 37.762221815, "long": -122.4651145,
              "media_url": "http://city.gov.s3.amazonaws.com/requests/media/638344.jpg"}],
            """<service_requests><request><service_request_id>638344</service_request_id><status>closed</status>
<status_notes>Duplicate request.</status_notes><service_name>Sidewalk and Curb Issues</service_name>
<service_code>006</service_code><description/><agency_responsible/><service_notice/>
<requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime><updated_datetime>2010-04-14T06:37:38-08:00
</updated_datetime><expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime><address>8TH AVE and JUDAH ST
</address><address_id>545483</address_id><zipcode>94122</zipcode><lat>37.762221815</lat><long>-122.4651145</long>
<media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg</media_url></request></service_requests>""")

DISCOVERY = ({"changeset": "2011-04-05T17:48:34Z", "contact": "You can email or call for assistance",
              "key_service": "You can request a key here: http://api.city.gov/api_key/request",
              "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                             "url": "http://open311.sfgov.org/v2", "changeset": "2011-04-20T17:48:34Z",
                             "type": "production", "formats": ["text/xml", "application/json"]}]},
             """<discovery><changeset>2011-04-05T17:48:34Z</changeset><contact>You can email or call for assistance
</contact><key_service>You can request a key here: http://api.city.gov/api_key/request</key_service><endpoints>
<endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification><url>http://open311.sfgov.org/v2</url>
<changeset>2011-04-20T17:48:34Z</changeset><type>production</type><formats><format>text/xml</format>
<format>application/json</format></formats></endpoint></endpoints></discovery>""")

EXAMPLES = {"services": SERVICES, "service_definition": DEFINITION, "service_requests": CREATED,
            "tokens": TOKEN, "requests": REQUESTS, "discovery": DISCOVERY}


def _same_xml(a: str, b: str) -> bool:
    """Equal as XML, ignoring the line breaks the examples are wrapped at."""
    def flat(text: str) -> list:
        return [(e.tag, "".join((e.text or "").split())) for e in ElementTree.fromstring(text).iter()]
    return flat(a) == flat(b)


@pytest.mark.parametrize("name", EXAMPLES)
def test_spec_examples_render_in_both_formats(name):
    value, spec_xml = EXAMPLES[name]
    root = ElementTree.fromstring(spec_xml).tag
    rendered = answer("xml", root, value)
    assert rendered.media_type.startswith("text/xml") and _same_xml(rendered.body.decode(), spec_xml)
    assert json.loads(answer("json", root, value).body) == value


def test_errors_are_a_list_of_code_and_description_with_that_status():
    spec_xml = "<errors><error><code>403</code><description>Invalid api_key</description></error></errors>"
    as_xml, as_json = errors("xml", 403, "Invalid api_key"), errors("json", 403, "Invalid api_key")
    assert as_xml.status_code == as_json.status_code == 403
    assert _same_xml(as_xml.body.decode(), spec_xml)
    assert json.loads(as_json.body) == [{"code": 403, "description": "Invalid api_key"}]


def test_xml_escapes_what_people_wrote():
    text = to_xml("service_requests", [{"description": "<b>垃圾</b> & 杂物"}])
    assert ElementTree.fromstring(text).findtext("request/description") == "<b>垃圾</b> & 杂物"

"""Over a thousand generated hostile requests against one running app.

Forged, stale, replayed, malformed, oversized and malicious callbacks: each is refused with
a 4xx or answered with a safe 200 (empty, or an encrypted reply for us only), never a 500;
a refused one writes nothing, a replayed one creates nothing new, and the app stays healthy.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import select as io_select
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import Case, InboundMessage, OutboxMessage, Resident, Unit
from tests.wecom_sim import CallbackClient, WeComSide, signature

PHONE = "13912345678"
TALLY: Counter = Counter()
_ids = itertools.count(7_000_000_000)
HYPOTHESIS = settings(deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
XML_CHARS = st.characters(codec="utf-8", exclude_categories=["Cs"],
                          exclude_characters="".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])))
INJECTIONS = [
    "'; DROP TABLE cases; --", "1' OR '1'='1", "\" OR 1=1 --", "admin'--", "1; SELECT pg_sleep(5)",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "]]><xml>injected</xml>", "&lt;b&gt;",
    "{{ 7*7 }}", "{% for x in range(9999999) %}x{% endfor %}", "${7*7}", "#{7*7}", "%s%s%s%n", "{0.__class__}",
    "{{ config.items() }}", "../../../../etc/passwd", "$(rm -rf /)", "`id`", "\u202eevil\u202c", "\ufeff\u200b",
    f"我的电话{PHONE}，楼下垃圾没人清", "进度 ' OR 1=1", "撤销 1 OR 1=1", "绑定 '; DELETE FROM units; --",
]


def message_xml(**fields: str | None) -> str:
    """A plaintext callback: a text message unless `fields` say otherwise (None drops a field)."""
    base = {"ToUserName": "corp", "FromUserName": "hostile-0", "CreateTime": str(int(time.time())),
            "MsgType": "text", "Content": "你好", "MsgId": str(next(_ids)), "AgentID": "1000002"}
    base.update(fields)
    return "<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in base.items() if v is not None) + "</xml>"


def envelope(encrypted: str) -> bytes:
    return f"<xml><ToUserName><![CDATA[corp]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()


class Hostile:
    """Sends hostile requests, checks each answer is one of `allowed`, never a 500, and tallies them."""

    def __init__(self, client: CallbackClient) -> None:
        self.client = client
        self.side: WeComSide = client.side
        self.http: httpx.Client = client.http

    def post(self, kind: str, params: dict, body: bytes, allowed: set[int],
             path: str = "/wecom/callback") -> httpx.Response:
        response = self.http.post(path, params=params, content=body)
        TALLY[(kind, response.status_code)] += 1
        assert response.status_code in allowed, (kind, response.status_code, response.text[:200])
        return response

    def signed(self, kind: str, encrypted: str, allowed: set[int], **overrides) -> httpx.Response:
        params = {**self.side.signed_params(encrypted, nonce=f"n{next(_ids)}"), **overrides}
        return self.post(kind, params, envelope(encrypted), allowed)

    def accepted(self, kind: str, plaintext: str) -> str | None:
        """Post a well-formed callback; it must be answered 200 with an empty or a well-formed encrypted reply."""
        response = self.signed(kind, self.side.encrypt(plaintext), {200})
        return self.client.reply_text(response)


@pytest.fixture(scope="module")
def log_records(app_url):
    """Every log record the app writes while this module runs."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    logging.getLogger().addHandler(handler)
    yield records
    logging.getLogger().removeHandler(handler)


@pytest.fixture(scope="module")
def hostile(wecom, log_records) -> Hostile:
    return Hostile(wecom)


def _counts(db) -> tuple[int, int, int]:
    with db() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (InboundMessage, Case, OutboxMessage))


@contextmanager
def writes_nothing(db):
    before = _counts(db)
    yield
    assert _counts(db) == before, "a refused request wrote to the database"


# --- refused: forged, stale, for someone else, undecryptable --------------------------------------------

@HYPOTHESIS
@given(forged=st.one_of(st.text(max_size=60), st.text("0123456789abcdef", min_size=40, max_size=40)),
       drop=st.sets(st.sampled_from(["msg_signature", "timestamp", "nonce"]), max_size=3))
def test_forged_or_missing_signature_is_403(hostile, db, forged, drop):
    encrypted = hostile.side.encrypt(message_xml(FromUserName="forger"))
    params = {**hostile.side.signed_params(encrypted), "msg_signature": forged}
    for name in drop:
        params.pop(name)
    with writes_nothing(db):
        hostile.post("forged signature", params, envelope(encrypted), {403})


@HYPOTHESIS
@given(timestamp=st.one_of(
    st.integers(min_value=301 + 5, max_value=10**12).flatmap(lambda d: st.sampled_from([-d, d])),
    st.integers(min_value=10**15, max_value=10**400), st.text(max_size=20)))
def test_stale_future_or_nonsense_timestamp_is_refused_as_replay(hostile, db, timestamp):
    value = str(int(time.time()) + timestamp) if isinstance(timestamp, int) and timestamp < 10**15 else str(timestamp)
    encrypted = hostile.side.encrypt(message_xml(Content="路灯坏了"))
    with writes_nothing(db):
        response = hostile.signed("stale timestamp", encrypted, {403}, timestamp=value,
                                  msg_signature=signature(hostile.side.token, value, "n", encrypted), nonce="n")
    assert response.status_code == 403


@HYPOTHESIS
@given(receive_id=st.text(max_size=40).filter(lambda r: r != "wwgridbotdemo0001"))
def test_message_for_another_corp_is_403(hostile, db, receive_id):
    encrypted = hostile.side.seal(message_xml().encode(), receive_id=receive_id.encode())
    with writes_nothing(db):
        hostile.signed("other corp id", encrypted, {403})


def _truncated(side: WeComSide, cut: int) -> str:
    valid = side.encrypt(message_xml())
    return valid[: cut % len(valid)]


def _other_key(side: WeComSide, seed: bytes) -> str:
    other = WeComSide(side.token, base64.b64encode(seed.ljust(32, b"k")[:32]).decode().rstrip("="),
                      side.receive_id)
    return other.encrypt(message_xml())


CIPHERTEXTS = st.one_of(
    st.tuples(st.just("truncated base64"), st.integers(min_value=1, max_value=10**6)),
    st.tuples(st.just("garbage base64"), st.binary(max_size=600)),
    st.tuples(st.just("not base64"), st.text(min_size=1, max_size=300)),
    st.tuples(st.just("wrong key"), st.binary(min_size=1, max_size=32)),
)


@HYPOTHESIS
@given(case=CIPHERTEXTS)
def test_undecryptable_ciphertext_is_refused(hostile, db, case):
    kind, value = case
    encrypted = {"truncated base64": lambda: _truncated(hostile.side, value),
                 "garbage base64": lambda: base64.b64encode(value).decode(),
                 "not base64": lambda: escape(value.replace("]]>", "")),
                 "wrong key": lambda: _other_key(hostile.side, value)}[kind]()
    if not encrypted.strip():
        encrypted = "x"
    with writes_nothing(db):
        hostile.signed(kind, encrypted, {400, 403})


@HYPOTHESIS
@given(pad_byte=st.integers(min_value=0, max_value=255), pad_len=st.integers(min_value=0, max_value=47),
       length=st.one_of(st.none(), st.integers(min_value=0, max_value=2**32 - 1)))
def test_wrong_padding_or_lying_length_field_is_refused(hostile, db, pad_byte, pad_len, length):
    body = message_xml().encode()
    frame = 16 + 4 + len(body) + len(hostile.side.receive_id)
    pad_len += (-(frame + pad_len)) % 16  # the cipher needs whole blocks; the padding's content is the lie
    correct = pad_len == pad_byte and length in (None, len(body))
    encrypted = hostile.side.seal(body, length=length, pad=bytes([pad_byte]) * pad_len)
    if correct:
        return  # a well-formed frame after all: nothing hostile to test
    with writes_nothing(db):
        hostile.signed("wrong padding or length", encrypted, {400, 403})


@HYPOTHESIS
@given(body=st.binary(min_size=1, max_size=400))
def test_non_utf8_or_non_xml_plaintext_is_400(hostile, db, body):
    with writes_nothing(db):
        hostile.signed("non-UTF-8 plaintext", hostile.side.seal(b"\xff\xfe" + body), {400})


# --- refused: hostile XML, inside the envelope and outside it ------------------------------------------

BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                            for i in range(1, 10))
                  + ']><xml><Encrypt>&lol9;</Encrypt><Content>&lol9;</Content></xml>')
HOSTILE_XML = [
    BILLION_LAUGHS,
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt>'
    '<Content>&xxe;</Content></xml>',
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><xml></xml>',
    '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><Encrypt>a</Encrypt></xml>',
    '<?xml version="1.0" encoding="GBK"?><xml><Encrypt>a</Encrypt></xml>',
    '<?xml version="1.0" encoding="no-such-encoding"?><xml><Encrypt>a</Encrypt></xml>',
    '<?xml version="1.0" encoding="UTF-16"?><xml><Encrypt>a</Encrypt></xml>',
    '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>',
    "<xml><Encrypt>a</Encrypt>", "<xml><Encrypt>\x00</Encrypt></xml>", "<xml><Encrypt>&#0;</Encrypt></xml>",
    "\ufeff\ufeff<xml/>", "", " ", "<", "<xml></xml><xml></xml>",
]


@HYPOTHESIS
@given(document=st.one_of(st.sampled_from(HOSTILE_XML),
                          st.integers(min_value=1, max_value=6_000).map(lambda n: "<a>" * n + "</a>" * n),
                          st.text(max_size=200)),
       inside=st.booleans())
def test_hostile_xml_is_refused_outside_and_inside_the_envelope(hostile, db, document, inside):
    with writes_nothing(db):
        if inside:
            hostile.signed("hostile XML inside", hostile.side.seal(document.encode("utf-8", "surrogatepass")),
                           {400})
        else:
            params = hostile.side.signed_params("a")
            hostile.post("hostile XML outside", params, document.encode("utf-8", "surrogatepass"), {400, 403, 413})


@HYPOTHESIS
@given(depth=st.integers(min_value=10, max_value=5_000), control=st.sampled_from([*range(0, 9), 11, 12, *range(14, 32)]))
def test_deep_nesting_and_control_characters_inside_are_400(hostile, db, depth, control):
    nested = message_xml(FromUserName=f"nested-{depth % 50}", Content=None).replace("</xml>", "<Content>" + "<a>" * depth + "</a>" * depth + "</Content></xml>")
    raw = message_xml(Content="x").replace(">x<", f">a{chr(control)}b<")
    hostile.accepted("deeply nested XML", nested)  # valid XML with a nested Content: no text, no crash
    with writes_nothing(db):
        hostile.signed("control characters", hostile.side.encrypt(raw), {400})


@HYPOTHESIS
@given(drop=st.sets(st.sampled_from(["FromUserName", "MsgType", "MsgId"]), min_size=1),
       msg_type=st.sampled_from(["text", "image", "location", "voice"]))
def test_missing_fields_are_400(hostile, db, drop, msg_type):
    plaintext = message_xml(**{"MsgType": msg_type, **{name: None for name in drop}})
    with writes_nothing(db):
        hostile.signed("missing fields", hostile.side.encrypt(plaintext), {400})


@HYPOTHESIS
@given(userid=st.text(XML_CHARS, min_size=65, max_size=300).filter(lambda u: len(u.strip()) > 64),
       lat=st.sampled_from(["nan", "inf", "-inf", "1e400", "91", "-90.5", "abc", "0x1p3"]))
def test_overlong_userid_and_impossible_coordinates_are_400(hostile, db, userid, lat):
    with writes_nothing(db):
        hostile.signed("overlong userid", hostile.side.encrypt(message_xml(FromUserName=userid)), {400})
        location = message_xml(MsgType="location", Content=None, Location_X=lat, Location_Y="113.1", Label="x")
        hostile.signed("impossible coordinates", hostile.side.encrypt(location), {400})


def _raw_post(url: str, headers: list[str], chunks, limit_seconds: float = 20.0) -> int:
    """Stream a request over a raw socket until the server answers; its status code."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=limit_seconds) as sock:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        for chunk in chunks:
            if io_select.select([sock], [], [], 0)[0]:
                break  # the answer came before the body was all sent
            try:
                sock.sendall(chunk)
            except OSError:
                break
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_ten_megabyte_body_is_413_without_reading_it(hostile, db, app_url, declared):
    size = 10 * 1024 * 1024
    query = "&".join(f"{k}={v}" for k, v in hostile.side.signed_params("x").items())
    headers = [f"POST /wecom/callback?{query} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/xml"]
    block = b"<xml>" + b"A" * (64 * 1024 - 5)
    if declared:
        headers.append(f"Content-Length: {size}")
        chunks = (block for _ in range(size // len(block)))
    else:
        headers.append("Transfer-Encoding: chunked")
        chunks = (b"%x\r\n%s\r\n" % (len(block), block) for _ in range(size // len(block)))
    started = time.monotonic()
    with writes_nothing(db):
        status = _raw_post(app_url, headers, chunks)
    TALLY[("10 MB body", status)] += 1
    assert status == 413
    assert time.monotonic() - started < 10


# --- accepted: well-formed and signed, with hostile content ---------------------------------------------

CONTENT = st.one_of(st.sampled_from(INJECTIONS), st.text(XML_CHARS, max_size=300),
                    st.integers(min_value=2_000, max_value=14_000).map(lambda n: "噪" * n))


@HYPOTHESIS
@given(content=CONTENT, user=st.integers(min_value=0, max_value=150))
def test_hostile_text_gets_a_safe_reply(hostile, content, user):
    hostile.accepted("hostile text", message_xml(FromUserName=f"hostile-{user}", Content=content))


def test_template_syntax_in_a_message_is_echoed_not_evaluated(hostile):
    reply = hostile.accepted("template injection", message_xml(FromUserName="jinja-resident", Content="进度 {{ 7*7 }}"))
    assert reply and "49" not in reply


@HYPOTHESIS
@given(msg_type=st.text(XML_CHARS, min_size=1, max_size=40).filter(str.strip),
       event=st.text(XML_CHARS, max_size=60), key=st.text(XML_CHARS, max_size=200))
def test_unknown_message_types_and_events_get_a_safe_reply(hostile, msg_type, event, key):
    hostile.accepted("unknown MsgType", message_xml(MsgType=msg_type, Content=None))
    hostile.accepted("unknown event", message_xml(MsgType="event", Event=event, EventKey=key, MsgId=None))


def test_injection_text_is_stored_verbatim_and_the_schema_is_intact(hostile, db):
    text = "'; DROP TABLE cases; --"
    hostile.accepted("injection stored", message_xml(FromUserName="sql-resident", Content=text))
    with db() as session:
        stored = session.scalars(select(InboundMessage.content)
                                 .where(InboundMessage.from_userid == "sql-resident")).all()
        assert text in stored
        assert session.scalar(select(func.count()).select_from(Unit)) > 0
        assert session.scalar(select(func.count()).select_from(Case)) >= 0


# --- the AI bot's JSON callback ------------------------------------------------------------------------

def _bot_payload(text: str, userid: str = "bot-user", **extra) -> dict:
    return {"msgid": str(next(_ids)), "chattype": "single", "from": {"userid": userid}, "msgtype": "text",
            "text": {"content": text}, **extra}


BOT_PAYLOADS = st.one_of(
    st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=5_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.text(XML_CHARS, max_size=200).map(lambda t: json.dumps(_bot_payload(t + "\x00" + t))),
    st.text(XML_CHARS, min_size=1, max_size=20).map(lambda u: json.dumps(_bot_payload("你好", userid=u + "\x00"))),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=20).map(json.dumps),
    st.sampled_from(["", "null", "[]", '"x"', '{"msgtype": "text"}', '{"msgtype": "text", "from": "x", "msgid": 1}',
                     json.dumps(_bot_payload("x", msgtype="mixed", mixed={"msg_item": "x"})), "{" * 10]),
)


@HYPOTHESIS
@given(payload=BOT_PAYLOADS, inside=st.booleans())
def test_hostile_json_to_the_ai_bot_is_refused_or_answered_safely(hostile, app_settings, payload, inside):
    side = WeComSide(app_settings.wecom_bot_token, app_settings.wecom_bot_aes_key, "")
    if inside:
        encrypted = side.encrypt(payload)
        body = json.dumps({"encrypt": encrypted}).encode()
        hostile.post("AI bot JSON inside", side.signed_params(encrypted, nonce=f"n{next(_ids)}"), body,
                     {200, 400}, path="/wecom/aibot")
    else:
        hostile.post("AI bot JSON outside", side.signed_params("x"), payload.encode(), {400, 403, 413},
                     path="/wecom/aibot")


# --- replays within the allowed window -------------------------------------------------------------------

REPLAYED = {
    "report": {"FromUserName": "demo-resident", "Content": "小区门口的垃圾桶满了好几天没人清理，臭气熏天"},
    "subscribe": {"MsgType": "event", "Event": "subscribe", "MsgId": None, "Content": None},
    "enter_agent": {"MsgType": "event", "Event": "enter_agent", "MsgId": None, "Content": None},
    "menu click": {"MsgType": "event", "Event": "click", "EventKey": "progress", "MsgId": None, "Content": None},
    "location event": {"MsgType": "event", "Event": "LOCATION", "Latitude": "22.5", "Longitude": "113.1",
                       "Precision": "30", "MsgId": None, "Content": None},
    "worker command": {"FromUserName": "demo-worker", "Content": "我的"},
}


@pytest.mark.parametrize("name", REPLAYED)
def test_replayed_callback_within_the_window_creates_nothing_new(hostile, db, name):
    fields = {"FromUserName": f"replay-{name.replace(' ', '-')}", **REPLAYED[name]}
    encrypted = hostile.side.encrypt(message_xml(**fields))
    params = hostile.side.signed_params(encrypted, nonce="replayed")
    first = hostile.client.reply_text(hostile.post("replay", params, envelope(encrypted), {200}))
    before = _counts(db)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: hostile.post("replay", params, envelope(encrypted), {200}), range(24)))
    assert {hostile.client.reply_text(answer) for answer in answers} == {first}
    inbound, cases, _ = _counts(db)
    assert (inbound, cases) == before[:2]


# --- afterwards --------------------------------------------------------------------------------------------

def test_app_is_healthy_and_still_works_after_the_barrage(hostile, db, wecom):
    assert hostile.http.get("/healthz").status_code == 200
    with db.begin() as session:
        unit = session.scalars(select(Unit.id).order_by(Unit.id)).first()
        session.add(Resident(userid="after-barrage", unit_id=unit))
    reply = wecom.send_text("after-barrage", "楼道里的灯坏了好几天了，晚上很黑，麻烦修一下")
    assert reply and "GB-" in reply


def test_over_a_thousand_hostile_requests_and_not_one_500(log_records):
    total = sum(TALLY.values())
    print(f"\nhostile requests: {total}")
    for (kind, status), count in sorted(TALLY.items()):
        print(f"  {kind:28} {status}: {count}")
    assert total >= 1000
    assert not any(status >= 500 for _, status in TALLY)


def test_no_secret_or_phone_number_reached_the_logs(log_records, app_settings):
    assert log_records, "the app logged nothing at all"
    text = "\n".join(f"{r.getMessage()} {r.__dict__} {r.exc_text or ''}" for r in log_records)
    for secret in (app_settings.wecom_token, app_settings.wecom_aes_key, app_settings.wecom_secret, PHONE):
        assert secret not in text

"""Log records never carry residents' phone numbers, ID numbers, names or any credential."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logging_setup import configure_logging

SECRET = "s3cr3t-app-secret-value"
TOKEN = "callbacktoken42"
PHONE = "13812345678"
ID_CARD = "110101199003071234"


@pytest.fixture
def log_output():
    """Configure logging with known secrets; yield the JSON lines gridbot's handler writes."""
    factory = logging.getLogRecordFactory()
    configure_logging([SECRET, TOKEN], "INFO")
    handler = next(h for h in logging.getLogger("gridbot").handlers if getattr(h, "_gridbot_handler", False))
    stream = io.StringIO()
    handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger("gridbot").removeHandler(handler)
    logging.setLogRecordFactory(factory)


def test_phone_id_and_secrets_are_masked_in_message_and_arguments(log_output):
    logging.getLogger("gridbot.test").info("resident %s (ID %s) sent text; secret=%s url=%s", PHONE, ID_CARD,
                                           SECRET, f"https://x/cgi-bin/gettoken?corpid=c&corpsecret={TOKEN}")
    [entry] = log_output()
    text = json.dumps(entry, ensure_ascii=False)
    for leaked in (PHONE, ID_CARD, SECRET, TOKEN):
        assert leaked not in text
    assert "138****5678" in entry["message"]


def test_extra_fields_are_masked_and_names_reduced_to_the_surname(log_output):
    logging.getLogger("gridbot.test").info("case opened", extra={"msg_key": "app:1", "case": "GB-000001",
                                                                 "resident_name": "张三丰", "note": f"call {PHONE}"})
    [entry] = log_output()
    assert entry["msg_key"] == "app:1" and entry["case"] == "GB-000001"
    assert entry["resident_name"] == "张**"
    assert PHONE not in entry["note"]


def test_tracebacks_are_masked(log_output):
    try:
        raise ValueError(f"bad row ({PHONE}, '{SECRET}')")
    except ValueError:
        logging.getLogger("gridbot.test").exception("handler failed")
    [entry] = log_output()
    assert "ValueError" in entry["exc"]
    assert PHONE not in entry["exc"] and SECRET not in entry["exc"]


def test_records_seen_by_other_handlers_are_masked_too(log_output, caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.error").warning("token=%s from %s", TOKEN, PHONE)
    text = caplog.text
    assert TOKEN not in text and PHONE not in text

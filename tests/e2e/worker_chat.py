"""Chat helpers for the lifecycle e2e tests: report as a resident, take as a worker, look the case up."""

from __future__ import annotations

import re
import time
from collections import Counter

from sqlalchemy import select

from models import InboundMessage, OutboxMessage
from tests.cli import cli_json

GARBAGE = "阳光小区门口的垃圾桶满了好几天没人清理，臭气熏天"


def number_in(reply: str) -> str:
    match = re.search(r"GB-\d{6}", reply)
    assert match, reply
    return match.group(0)


def digits(number: str) -> str:
    """`GB-000012` → `12`, the short form workers type."""
    return str(int(number[3:]))


_reported: Counter = Counter()  # (userid, text) → how often reported: the same words again would be the same case


def report(wecom, text: str = GARBAGE, userid: str = "demo-resident") -> str:
    """A resident's report that opened a case of its own (not linked to another); its number. The same words
    from the same resident a second time are marked （第N次）, or they would be the report sent again."""
    _reported[userid, text] += 1
    count = _reported[userid, text]
    reply = wecom.send_text(userid, text if count == 1 else f"{text}（第{count}次）")
    match = re.search(r"事项编号 (GB-\d{6})", reply)
    assert match, reply
    return match.group(1)


def taken(wecom, text: str = GARBAGE, userid: str = "demo-resident") -> tuple[str, str]:
    """A report that demo-worker has taken: (number, digits)."""
    number = report(wecom, text, userid)
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {digits(number)}")
    return number, digits(number)


def show(number: str, database_url: str) -> dict:
    return cli_json(["case", "show", number, "--json"], database_url)


def queued(db, recipient: str, *markers: str) -> list[str]:
    """Notices gridbot queued for `recipient` (a userid or a group's chat id) containing every marker.

    Queued in the same transaction as the reply, so no waiting; delivery (and the outbox's
    per-recipient pacing) is tested where the closed loop counts what the fake WeCom received."""
    with db() as session:
        texts = session.scalars(select(OutboxMessage.text).where(OutboxMessage.recipient == recipient)
                                .order_by(OutboxMessage.id)).all()
    return [text for text in texts if all(marker in text for marker in markers)]


def stored_reply(db, msg_id: int | str, timeout: float = 30.0, channel: str = "app") -> str | None:
    """The reply gridbot stored for message `msg_id` (an app MsgId, or a kf msgid with channel "kf"): the same
    words whether they rode on the HTTP answer or, behind a backlog on a busy machine, went out through the
    outbox."""
    deadline = time.monotonic() + timeout
    while True:
        with db() as session:
            reply = session.scalar(select(InboundMessage.reply).where(InboundMessage.msg_key == f"{channel}:{msg_id}",
                                                                      InboundMessage.status != "received"))
        if reply is not None or time.monotonic() > deadline:
            return reply
        time.sleep(0.1)

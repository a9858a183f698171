"""微信客服 (kf): the callback's `kf_msg_or_event` is answered at once; the messages are pulled behind it.

`KfPuller.notify` only notes (account, token) and wakes the pull thread. The thread pulls with
kf/sync_msg from the account's stored cursor, page by page while `has_more`, and records each page
in ONE transaction: its resident messages as waiting inbound records (handlers/intake/inbox.py, the same
queue and handler as the app chat; the unique msgid makes a page that comes twice harmless), the
residents' send windows (bot/outbox/window.py), WeCom's reports of messages it could not deliver
(`msg_send_fail`: bot/outbox/kf_failures.py) and the page's `next_cursor`. So a crash loses
nothing and doubles nothing: the next pull starts from the last recorded page. Failures are retried
with backoff (up to MAX_ATTEMPTS; an unreachable API — no connection at all — is retried every
RETRY_CAP seconds for as long as the outage lasts); an expired event token falls back to a pull
without one (WeCom rate-limits those).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import Session, sessionmaker

from bot.outbox import kf_failures
from bot.outbox.window import resident_wrote
from bot.wecom.api import WeComClient
from bot.wecom.errors import ErrorKind, WeComError
from bot.wecom.kf_messages import RESIDENT, SERVICER, SYSTEM, external_userid, inbound_from_kf, kf_userid
from handlers.intake import inbox
from models import utcnow
from models.channels import KfAccount

log = logging.getLogger("gridbot.kf")

KF_EVENT = "kf_msg_or_event"
TOKEN_REFUSED = frozenset({95007})  # the event token is invalid or expired
MAX_PAGES = 100  # per pull; the rest follows on the next notice
RETRY_BASE, RETRY_CAP, MAX_ATTEMPTS = 1.0, 60.0, 8
CAP_REACHED = math.ceil(math.log2(RETRY_CAP / RETRY_BASE))  # doublings after which an outage's delay is the cap


def kf_event(fields: dict[str, str]) -> tuple[str, str] | None:
    """(open_kfid, token) when the decrypted callback is a kf `kf_msg_or_event`, else None."""
    if fields.get("MsgType", "").strip().lower() != "event" or fields.get("Event", "").strip() != KF_EVENT:
        return None
    return fields.get("OpenKfId", "").strip(), fields.get("Token", "").strip()


@dataclass
class _Wanted:
    token: str | None
    attempts: int = 0  # failed pulls so far that count towards MAX_ATTEMPTS
    due: float = 0.0
    outage: int = 0  # failed pulls in a row that found no connection at all (they count for the backoff only)


class KfPuller:
    """Pulls kf messages in one background thread; `start` before use, `stop` at the end."""

    def __init__(self, factory: sessionmaker[Session], client: WeComClient, *, excluded: frozenset[str],
                 on_recorded: Callable[[], None], clock: Callable[[], datetime] = utcnow) -> None:
        self._factory = factory
        self._client = client
        self._excluded = excluded
        self.on_recorded = on_recorded  # e.g. wakes the intake's processor
        self._clock = clock
        self._wanted: dict[str, _Wanted] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.pulls = 0

    def notify(self, open_kfid: str, token: str) -> bool:
        """A kf event arrived: pull that account soon. False when the account is not served."""
        if not open_kfid or open_kfid in self._excluded:
            log.info("kf event ignored: account not served", extra={"open_kfid": open_kfid})
            return False
        with self._cond:
            self._wanted[open_kfid] = _Wanted(token or None)
            self._cond.notify()
        return True

    def pull(self, open_kfid: str, token: str | None) -> int:
        """Pull every waiting page of one account now; how many new messages were recorded."""
        recorded = 0
        with self._factory() as session:
            account = session.get(KfAccount, open_kfid)
            cursor = account.cursor if account is not None else None
        for _ in range(MAX_PAGES):
            page = self._client.kf_sync_msg(open_kfid, cursor, token)
            cursor = str(page.get("next_cursor") or cursor or "")
            recorded += self._record(open_kfid, page.get("msg_list") or [], cursor)
            if not page.get("has_more"):
                break
        self.pulls += 1
        if recorded:
            self.on_recorded()
        return recorded

    def _record(self, open_kfid: str, items: list[dict], cursor: str) -> int:
        """One page and the cursor after it, in one transaction; how many messages were new."""
        now = self._clock()
        wanted, failures = [], []
        for item in items:
            inbound = inbound_from_kf(item)
            if inbound is not None:
                wanted.append((item, inbound))
            elif _event_type(item) == kf_failures.EVENT and item.get("origin") == SYSTEM:
                failures.append(item["event"])
            else:
                _log_skipped(item)
        with self._factory.begin() as session:
            for failure in failures:
                kf_failures.send_failed(session, failure, now)
            accepted = inbox.accept(session, [inbound for _, inbound in wanted], now) if wanted else []
            for (item, inbound), result in zip(wanted, accepted):
                if result.new:
                    sent_at = (_sent_at(item) or now) if item.get("origin") == RESIDENT else None
                    resident_wrote(session, inbound.userid, external_userid(item),
                                   str(item.get("open_kfid") or open_kfid), sent_at, now)
            account = session.get(KfAccount, open_kfid)
            if account is None:  # first pull (a racing process's insert fails this page; it is retried)
                account = KfAccount(open_kfid=open_kfid)
                session.add(account)
            account.cursor, account.pulled_at = cursor or None, now
        return sum(result.new for result in accepted)

    # --- the thread ------------------------------------------------------------------------

    def _next(self) -> tuple[str, _Wanted] | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                due = [(kfid, w) for kfid, w in self._wanted.items() if w.due <= now]
                if due:
                    kfid, wanted = min(due, key=lambda pair: pair[1].due)
                    del self._wanted[kfid]
                    return kfid, wanted
                wait = min((w.due for w in self._wanted.values()), default=now + 3600) - now
                self._cond.wait(max(0.01, wait))
        return None

    def _run(self) -> None:
        while (job := self._next()) is not None:
            open_kfid, wanted = job
            try:
                self.pull(open_kfid, wanted.token)
            except WeComError as error:
                self._retry(open_kfid, wanted, error)
            except Exception:
                log.exception("kf pull failed", extra={"open_kfid": open_kfid})
                self._retry(open_kfid, wanted, None)

    def _retry(self, open_kfid: str, wanted: _Wanted, error: WeComError | None) -> None:
        token = wanted.token
        if error is not None and error.errcode in TOKEN_REFUSED:
            log.warning("kf event token refused; pulling without it", extra={"open_kfid": open_kfid})
            token = None
        if error is not None and error.kind is ErrorKind.UNREACHABLE:  # waited out however long, costing no attempt
            attempts, outage = wanted.attempts, min(wanted.outage + 1, CAP_REACHED)
            delay = min(RETRY_CAP, RETRY_BASE * 2 ** wanted.outage)
        elif error is not None and error.kind is ErrorKind.CONFIG or wanted.attempts + 1 >= MAX_ATTEMPTS:
            log.error("kf pull gave up: %s; the next event pulls again", error, extra={"open_kfid": open_kfid})
            return
        else:
            attempts, outage = wanted.attempts + 1, 0
            delay = min(RETRY_CAP, RETRY_BASE * 2 ** wanted.attempts)
        level = logging.DEBUG if wanted.outage else logging.WARNING  # an outage is told once, not every minute
        log.log(level, "kf pull failed (%s); retrying in %g s", error, delay, extra={"open_kfid": open_kfid})
        with self._cond:
            if open_kfid not in self._wanted:  # a newer event's token wins
                self._wanted[open_kfid] = _Wanted(token, attempts, time.monotonic() + delay, outage)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gridbot-kf", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _sent_at(item: dict) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(item.get("send_time")), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


def _event_type(item: dict) -> str | None:
    return (item.get("event") or {}).get("event_type") if item.get("msgtype") == "event" else None


def _log_skipped(item: dict) -> None:
    origin = item.get("origin")
    kind = _event_type(item) or item.get("msgtype")
    reason = "servicer message" if origin == SERVICER else f"not for a handler ({kind})"
    log.info("kf item skipped: %s", reason, extra={"msgid": item.get("msgid"),
                                                    "userid": kf_userid(external_userid(item))})

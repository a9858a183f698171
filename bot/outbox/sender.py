"""`OutboxSender`: sends queued notices through WeCom, each row once, with retries and dead letters.

What a failure does depends on its kind (bot/wecom/errors.py):
- stale token: the client already refreshed and retried once; a second refusal is retried later;
- rate limit: the row waits >= 60 s without losing an attempt, and this sender pauses as long;
- system busy, HTTP 5xx, a timeout after the request went out, unknown errcode: exponential backoff,
  and after `max_attempts` the row goes to the dead letters (`gridbot outbox list --status dead`);
- unreachable (connection refused, DNS failure, connect timeout: nothing was sent): the row waits
  unharmed and this sender pauses, doubling from `base` up to `config_pause` while the outage
  lasts, then probes with one row; one WARNING line when it starts and one when WeCom answers
  again. An outage of any length kills no notice and costs one connection attempt per probe;
- rejected (bad userid, unknown chat, too long...): dead at once, with WeCom's reason;
- configuration (60020 IP not trusted, bad corp id or secret...): the row is dead with the reason,
  one ERROR line says what to fix, and the sender pauses; after each pause it probes with one row,
  which waits again unharmed while the error lasts. Once fixed, `gridbot outbox retry --all-dead`.
Before sending, rows are paced per recipient (bot/outbox/pacing.py): a burst beyond WeCom's
per-member limits goes out folded into digests as room frees up, instead of being dropped by WeCom.
微信客服 residents get at most what their window allows (bot/outbox/window.py); the rest is held.
Rows of channel `media` are downloads (media/get) into the media store (bot/media/), retried alike.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.media import MediaStore, StoreError
from bot.outbox import claims, pacing, window
from bot.wecom.api import WeComClient
from bot.wecom.errors import ErrorKind, WeComError
from config.settings import Settings
from handlers.progress_links import link_given_to
from handlers.texts import render
from models import utcnow
from models.outbox import OutboxChannel

log = logging.getLogger("gridbot.outbox")


@dataclass(frozen=True)
class SendPolicy:
    """How hard and how fast to retry, and how fast to send to one person; the defaults suit production."""

    base: float = 5.0  # seconds before the first retry; doubled each attempt
    cap: float = 1800.0  # longest wait between attempts
    max_attempts: int = 12  # then the row is dead (about 3.5 hours of trying with the defaults)
    rate_limit_pause: float = 60.0  # WeCom's frequency limits count per minute
    config_pause: float = 300.0  # between probes while a configuration error lasts
    lease: float = 120.0  # a claim's lifetime: rows of a sender that died are sent after this
    batch: int = 20
    pace_per_minute: int = 25  # messages to one recipient a minute (WeCom drops beyond 30); 0: no pacing

    @classmethod
    def from_settings(cls, settings: Settings) -> SendPolicy:
        """The policy `GRIDBOT_OUTBOX_*` settings ask for."""
        return cls(base=settings.outbox_retry_base, max_attempts=settings.outbox_max_attempts,
                   lease=settings.outbox_lease, pace_per_minute=settings.outbox_pace_per_minute)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure, with up to 20 % jitter so senders spread out."""
        delay = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=delay * random.uniform(1.0, 1.2))


@dataclass
class SenderStats:
    """What one sender did since it started (tests and /metrics read it)."""

    sent: int = 0  # notices, each counted even when it went inside a digest
    messages: int = 0  # what WeCom accepted: one per notice, or one per digest
    retried: int = 0
    dead: int = 0
    deferred: int = 0  # waits that cost no attempt (pacing, rate limits, configuration probes)
    lost_claims: int = 0  # rows whose lease ran out before they were settled
    held: int = 0  # kf notices held back: the resident's window was used up
    by_kind: dict[str, int] = field(default_factory=dict)


def window_digest(rows: list[claims.Claimed]) -> str:
    """Several notices to one kf resident as one message (their window allows few)."""
    return render("notices/kf_digest", texts=[row.text for row in rows])


class OutboxSender:
    """Claims due outbox rows and sends them; safe to run in many threads and processes at once."""

    def __init__(self, factory: sessionmaker[Session], client: WeComClient, policy: SendPolicy | None = None,
                 name: str | None = None, media: MediaStore | None = None) -> None:
        self.factory = factory
        self.client = client
        self.media = media
        self._budgets: dict[str, window.Budget] = {}  # this batch's kf residents
        self._last_in_window: set[int] = set()  # head rows of the last message a kf window allows
        self.policy = policy or SendPolicy()
        if self.policy.lease < 3 * client.timeout + 5:
            raise ValueError("the claim lease must outlast a send's worst case (token refresh + retry)")
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stats = SenderStats()
        self.paused_until: datetime | None = None
        self.config_error: str | None = None  # the configuration error reported, while it lasts
        self.unreachable: str | None = None  # why WeCom's API cannot be reached, while that lasts
        self._outage_pause = 0.0  # seconds of this sender's last pause for an unreachable API
        self.wakeup = threading.Event()  # set: something was just queued, poll now

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        """Send until `stop` is set, polling every `interval` seconds (or on `wakeup`) while the outbox is empty."""
        while not stop.is_set():
            self.wakeup.clear()
            try:
                busy = self.run_once() >= self.policy.batch
            except Exception:
                log.exception("outbox sender failed; trying again in %.0f s", max(interval, 5.0))
                busy = False
                stop.wait(max(interval, 5.0))
            if not busy:
                self.wakeup.wait(interval)

    def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch of due rows and send them; how many notices were sent."""
        now = now or utcnow()
        if self._paused(now):
            return 0
        token = f"{self.name}:{secrets.token_hex(4)}"[-64:]
        batch = claims.claim(self.factory, token, now, timedelta(seconds=self.policy.lease), self.policy.batch)
        # Never start a send that could still be running when the lease ends (another sender may claim it then).
        deadline = time.monotonic() + self.policy.lease - 3 * self.client.timeout - 1
        messages = self._paced(batch, token, now)
        sent = 0
        for index, rows in enumerate(messages):
            if time.monotonic() > deadline or self._paused(now):
                rest = [row.id for message in messages[index:] for row in message]
                claims.release(self.factory, rest, token, self.paused_until or utcnow())
                self.stats.deferred += len(rest)
                break
            sent += self._send(rows, token, now)
        return sent

    def _paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until

    def _paced(self, batch: list[claims.Claimed], token: str, now: datetime) -> list[list[claims.Claimed]]:
        """The messages to send now: a row each while its recipient has room, else digests of
        the recipient's rows; rows beyond the room go back to wait for it."""
        by_recipient: dict[tuple[str, str], list[claims.Claimed]] = {}
        for row in batch:
            by_recipient.setdefault((row.channel, row.recipient), []).append(row)
        kf = {recipient for channel, recipient in by_recipient if channel == OutboxChannel.KF}
        self._budgets = window.budgets(self.factory, kf, now) if kf else {}
        self._last_in_window = set()
        messages: list[list[claims.Claimed]] = []
        for key in [key for key in by_recipient if key[0] == OutboxChannel.KF]:
            messages += self._within_window(by_recipient.pop(key), token, now)
        if not self.policy.pace_per_minute:
            return messages + [[row] for rows in by_recipient.values() for row in rows]
        rooms = pacing.room(self.factory, set(by_recipient), self.policy.pace_per_minute, now)
        for key, rows in by_recipient.items():
            room, free_at = rooms[key]
            if len(rows) <= room:
                messages += [[row] for row in rows]
                continue
            digests = pacing.fold(rows) if room else []
            messages += digests[:room]
            waiting = [row.id for digest in digests[room:] for row in digest] if room else [r.id for r in rows]
            claims.release(self.factory, waiting, token, free_at)
            self.stats.deferred += len(waiting)
        return messages

    def _within_window(self, rows: list[claims.Claimed], token: str, now: datetime) -> list[list[claims.Claimed]]:
        """A kf resident's rows folded into as few messages as fit, as many as their window allows; the
        rest held until they write again. The window's last message will carry the progress link."""
        left = self._budgets[rows[0].recipient].left
        digests = pacing.fold(rows, text=window_digest) if len(rows) > 1 else [rows]
        held = [row.id for digest in digests[left:] for row in digest]
        if held:
            self._hold(held, token, rows[0].recipient, now)
        sending = digests[:left]
        if sending and len(sending) == left:
            self._last_in_window.add(sending[-1][0].id)
        return sending

    def _hold(self, row_ids: list[int], token: str, userid: str, now: datetime) -> None:
        """Hold rows for a kf resident; any the window no longer calls for (they just wrote) go back to be sent."""
        held = window.hold(self.factory, row_ids, token, self._budgets[userid], now)
        self.stats.held += held
        if held < len(row_ids):
            claims.release(self.factory, row_ids, token, utcnow())  # only rows still claimed: the unheld
        if held:
            log.info("kf window used up: %d notice(s) held for %s until they write", held, userid)

    def _text(self, rows: list[claims.Claimed]) -> str:
        first = rows[0]
        if len(rows) > 1:
            text = window_digest(rows) if first.channel == OutboxChannel.KF else pacing.digest_text(rows)
        else:
            text = first.text
        if first.id in self._last_in_window:
            case_id = next((row.case_id for row in rows if row.case_id is not None), None)
            with self.factory.begin() as session:
                url = link_given_to(session, case_id, first.recipient) if case_id is not None else None
            text += "\n" + render("notices/kf_window_last", url=url)
        return text

    def _deliver(self, first: claims.Claimed, text: str) -> str | None:
        """Send one message; WeCom's msgid of a kf send (a msg_send_fail event may name it later)."""
        if first.channel == OutboxChannel.KF:
            budget = self._budgets[first.recipient]
            answer = self.client.kf_send_text(budget.open_kfid or "", budget.external_userid or "", text)
            return str(answer.get("msgid") or "")[:128] or None
        elif first.channel == OutboxChannel.KF_WELCOME:
            self.client.kf_send_on_event(first.recipient, text)
        elif first.channel == OutboxChannel.MEDIA:
            if self.media is None:
                raise WeComError(ErrorKind.TRANSIENT, None, "this sender keeps no media", "/cgi-bin/media/get")
            content, content_type = self.client.get_media(first.recipient)
            try:
                self.media.save(self.factory, first.recipient, first.text, content, content_type, utcnow())
            except StoreError as error:  # retried with backoff like a failed send
                raise WeComError(ErrorKind.TRANSIENT, None, str(error), "media store") from error
        else:
            self.client.send(first.channel, first.recipient, text)
        return None

    def _send(self, rows: list[claims.Claimed], token: str, now: datetime) -> int:
        first = rows[0]
        text = self._text(rows)
        try:
            remote_msgid = self._deliver(first, text)
        except WeComError as error:
            metrics.send_attempted(first.channel, failure=error.kind.value)
            self.stats.by_kind[error.kind] = self.stats.by_kind.get(error.kind, 0) + 1
            if error.kind is not ErrorKind.UNREACHABLE:
                self._reached()
            for row in rows:
                self._failed(row, token, error, now)
            return 0
        self._reached()
        ids = [row.id for row in rows]
        if claims.mark_sent(self.factory, ids, token, max(now, utcnow()), remote_msgid) < len(rows):
            self.stats.lost_claims += 1
            log.warning("outbox rows %s were sent after their lease ran out", ids)
        if self.config_error is not None:
            log.warning("WeCom accepts sends again; outbox resumed (was: %s)", self.config_error)
            self.config_error = None
        metrics.send_attempted(first.channel, notices=len(rows))
        self.stats.sent += len(rows)
        self.stats.messages += 1
        return len(rows)

    def _failed(self, row: claims.Claimed, token: str, error: WeComError, now: datetime) -> None:
        reason = error.describe()
        if row.channel == OutboxChannel.KF and error.errcode in window.WINDOW_REFUSED:
            log.warning("kf send refused by WeCom (%s); held until %s writes", reason, row.recipient)
            self._hold([row.id], token, row.recipient, now)  # WeCom's count differs from ours: wait for the resident
        elif error.kind is ErrorKind.RATE_LIMIT and row.channel == OutboxChannel.WEBHOOK:
            self._defer(row, token, reason, now + timedelta(seconds=self.policy.rate_limit_pause))  # one robot's limit
        elif error.kind is ErrorKind.RATE_LIMIT:
            self._pause(now, self.policy.rate_limit_pause)
            log.warning("WeCom rate limit (%s); outbox pauses %g s", reason, self.policy.rate_limit_pause)
            self._defer(row, token, reason, self.paused_until)
        elif error.kind is ErrorKind.UNREACHABLE:
            self._unreachable(row, token, reason, now)
        elif error.kind is ErrorKind.CONFIG:
            self._config_failure(row, token, error, now)
        elif error.kind is ErrorKind.REJECTED:
            self._dead(row, token, f"rejected by WeCom: {reason}")
        elif row.attempts >= self.policy.max_attempts:
            self._dead(row, token, f"gave up after {row.attempts} attempts: {reason}")
        else:
            claims.mark_retry(self.factory, row.id, token, now + self.policy.backoff(row.attempts), reason)
            self.stats.retried += 1

    def _config_failure(self, row: claims.Claimed, token: str, error: WeComError, now: datetime) -> None:
        self._pause(now, self.policy.config_pause)
        reason = error.describe()
        if self.config_error == reason:
            self._defer(row, token, reason, self.paused_until)  # still broken: the probe row waits, unharmed
            return
        self.config_error = reason
        log.error("WeCom configuration error: %s. Notices are held; fix the WeCom settings (corp id, secret, "
                  "agent id, trusted IPs), then run `gridbot outbox retry --all-dead`. Probing every %g s.",
                  reason, self.policy.config_pause)
        self._dead(row, token, f"configuration error: {reason}", quiet=True)

    def _unreachable(self, row: claims.Claimed, token: str, reason: str, now: datetime) -> None:
        """Nothing reached WeCom: the row waits unharmed while this sender pauses (longer each time in a row)."""
        self._outage_pause = min(self.policy.config_pause, max(self.policy.base, 2 * self._outage_pause))
        self._pause(now, self._outage_pause)
        if self.unreachable is None:
            log.warning("WeCom's API cannot be reached (%s); notices wait, probing with one after %g s, "
                        "then less often (at most every %g s) while it lasts", reason, self._outage_pause,
                        self.policy.config_pause)
        self.unreachable = reason
        self._defer(row, token, reason, self.paused_until)

    def _reached(self) -> None:
        """WeCom answered (whatever it said): an outage, if there was one, is over."""
        if self.unreachable is not None:
            log.warning("WeCom's API answers again; outbox resumed (was: %s)", self.unreachable)
        self.unreachable, self._outage_pause = None, 0.0

    def _pause(self, now: datetime, seconds: float) -> None:
        until = now + timedelta(seconds=seconds)
        self.paused_until = max(until, self.paused_until or until)

    def _defer(self, row: claims.Claimed, token: str, reason: str, until: datetime) -> None:
        claims.release(self.factory, [row.id], token, until, reason)
        self.stats.deferred += 1

    def _dead(self, row: claims.Claimed, token: str, reason: str, quiet: bool = False) -> None:
        claims.mark_dead(self.factory, row.id, token, reason)
        self.stats.dead += 1
        if not quiet:
            log.error("outbox row %s is dead (%s to %s): %s", row.id, row.channel, row.recipient, reason)

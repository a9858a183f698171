"""Load and crash tooling: pre-encrypted callbacks, an asyncio sender, app processes, bound residents.

Used by the crash, scale-out and load tests; WeCom's side of the crypto comes from tests/wecom_sim.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.deploy_secrets import secrets_env
from tests.wecom_sim import WeComSide, text_xml

REPO = Path(__file__).resolve().parent.parent
REPORTS = ["小区门口的垃圾桶满了好几天没人清理，臭气熏天", "楼上装修电钻声从早到晚不停，吵得没法休息",
           "路灯坏了好几盏，晚上黑漆漆的很危险", "楼道里堆满了杂物和纸箱，有火灾隐患", "小区里井盖丢了，有人差点掉下去"]


LEASE = 35  # the shortest outbox claim lease: notices a killed process had claimed wait this long


def process_env(settings, wecom_api_base: str) -> dict[str, str]:
    """Environment for app and worker processes on `settings`' database, talking to a fake WeCom."""
    return {"GRIDBOT_DATABASE_URL": settings.database_url, "GRIDBOT_WECOM_API_BASE": wecom_api_base,
            "GRIDBOT_OUTBOX_INTERVAL": "0.05", "GRIDBOT_OUTBOX_LEASE": str(LEASE), "GRIDBOT_USER_RATE_LIMIT": "0",
            "GRIDBOT_OUTBOX_PACE_PER_MINUTE": "0",  # one message per notice: pacing has tests of its own
            "GRIDBOT_DEMO": "false", "GRIDBOT_LOG_LEVEL": "WARNING", **secrets_env(settings)}


@dataclass(frozen=True)
class Delivery:
    """One encrypted callback, ready to send (again)."""

    msg_id: int
    userid: str
    target: str  # path and signed query
    body: bytes


@dataclass
class Answer:
    delivery: Delivery
    status: int | None  # None: no answer (connection refused or dropped)
    seconds: float
    body: bytes = b""


def encrypted_reports(side: WeComSide, userids: list[str], count: int, first_msg_id: int,
                      texts: list[str] = REPORTS) -> list[Delivery]:
    """`count` distinct reports (distinct MsgIds), round-robin over `userids` and `texts`."""
    deliveries = []
    for i in range(count):
        msg_id, userid = first_msg_id + i, userids[i % len(userids)]
        encrypted = side.encrypt(text_xml(userid, f"{texts[i % len(texts)]}（{i}）", msg_id))
        # A redelivery repeats the same signed request; the timestamp stays inside GRIDBOT_WECOM_MAX_AGE.
        query = "&".join(f"{k}={v}" for k, v in side.signed_params(encrypted, nonce=f"n{msg_id}").items())
        body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
        deliveries.append(Delivery(msg_id, userid, f"/wecom/callback?{query}", body))
    return deliveries


async def _deliver(base_urls: list[str], deliveries: Iterable[Delivery], concurrency: int,
                   on_answer: Callable[[Answer], None] | None) -> list[Answer]:
    pending = iter(deliveries)
    answers: list[Answer] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [httpx.AsyncClient(base_url=url, timeout=30, limits=limits) for url in base_urls]

    async def worker(index: int) -> None:
        client = clients[index % len(clients)]
        for delivery in pending:
            started = time.perf_counter()
            try:
                response = await client.post(delivery.target, content=delivery.body)
                answer = Answer(delivery, response.status_code, time.perf_counter() - started, response.content)
            except httpx.TransportError:
                answer = Answer(delivery, None, time.perf_counter() - started)
            answers.append(answer)
            if on_answer is not None:
                on_answer(answer)

    try:
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    return answers


def deliver(base_urls: str | list[str], deliveries: Iterable[Delivery], concurrency: int,
            on_answer: Callable[[Answer], None] | None = None) -> list[Answer]:
    """Send every delivery, `concurrency` at a time (spread over `base_urls`); every answer, in finishing order."""
    urls = [base_urls] if isinstance(base_urls, str) else base_urls
    return asyncio.run(_deliver(urls, deliveries, concurrency, on_answer))


def bind_residents(factory, prefix: str, count: int) -> list[str]:
    """`count` residents, each bound to a unit of the registry (round-robin): their reports route at once."""
    from models import Resident, Unit

    with factory.begin() as session:
        units = session.scalars(select(Unit.id).order_by(Unit.id)).all()
        userids = [f"{prefix}-{i:05d}" for i in range(count)]
        session.add_all(Resident(userid=u, unit_id=units[i % len(units)]) for i, u in enumerate(userids))
    return userids


class AppProcess:
    """`gridbot` as a real OS process (uvicorn, or another CLI command), killable with SIGKILL."""

    def __init__(self, env: dict[str, str], port: int | None = None, command: list[str] | None = None,
                 log: Path | None = None, wait: bool = True) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}" if port else None
        args = command or ["-m", "uvicorn", "--factory", "bot.app:create_app", "--host", "127.0.0.1",
                           "--port", str(port), "--log-level", "warning", "--no-access-log"]
        self._log = open(log, "ab") if log else subprocess.DEVNULL
        self.process = subprocess.Popen([sys.executable, *args], cwd=REPO, env={**os.environ, **env},
                                        stdout=self._log, stderr=self._log)
        if self.url and wait:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("app did not become healthy")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing, exactly like a crash."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not subprocess.DEVNULL:
            self._log.close()


def wait_for_none_left(count: Callable[[], int], stall: float, what: str, limit: float = 900.0) -> float:
    """Wait until `count()` is 0; seconds waited. Fails when the count has not gone down for `stall`
    seconds (something is stuck), not when a busy machine is merely slow, and after `limit` seconds."""
    started = last_progress = time.monotonic()
    left = count()
    while left:
        now = time.monotonic()
        assert now - last_progress < stall, f"{what}: {left} left, none done in the last {stall:.0f} s"
        assert now - started < limit, f"{what}: {left} left after {limit:.0f} s"
        time.sleep(0.25)
        now_left = count()
        if now_left < left:
            last_progress = time.monotonic()
        left = now_left
    return time.monotonic() - started


def count_rows(factory, model, condition) -> int:
    """How many rows of `model` meet `condition`, read in a session of its own."""
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(condition))

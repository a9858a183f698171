"""`/metrics` in Prometheus text format, the counters behind it, and the request-latency middleware.

Counters of domain work (messages, cases) come from handlers/facts.py, so they move only once
the transaction that did the work commits. The outbox backlog is read from the database at
scrape time. With several processes (`uvicorn --workers N`, `gridbot worker`) on one host, set
`PROMETHEUS_MULTIPROC_DIR` to an empty directory shared by them before they start: every
process then writes its counters there and any app process's `/metrics` shows the sums.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from ipaddress import ip_address

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox.store import oldest_pending
from bot.state import AppState, get_state
from handlers import facts
from models import utcnow
from models.db import reading
from models.outbox import OutboxMessage, OutboxStatus

INBOUND = Counter("gridbot_inbound_messages", "Inbound messages by channel, type and outcome "
                  "(handled, throttled, failed, redelivery).", ["channel", "kind", "outcome"])
CASES = Counter("gridbot_cases_opened", "Cases opened, by category, source and channel (app, kf, open311, patrol).",
                ["category", "source", "channel"])
SEND_ATTEMPTS = Counter("gridbot_outbox_send_attempts", "Messages handed to the WeCom API (a digest is one).",
                        ["channel"])
SEND_FAILURES = Counter("gridbot_outbox_send_failures", "WeCom API sends that failed, by error class.",
                        ["channel", "kind"])
NOTICES_SENT = Counter("gridbot_outbox_notices_sent", "Notices WeCom accepted (each notice of a digest counts).",
                       ["channel"])
CLOCK = Counter("gridbot_clock_actions", "What the 117 clock did: reminders, escalations, archived cases, reports opened after an unanswered question.",
                ["action"])
LATENCY = Histogram("gridbot_http_request_duration_seconds", "HTTP request latency by route template.",
                    ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
RESPONSES = Counter("gridbot_http_responses", "HTTP responses by route template and status code.",
                    ["route", "status"])

_FACTS: dict[str, Counter] = {"inbound": INBOUND, "case_opened": CASES}


def count_fact(name: str, labels: dict[str, str]) -> None:
    """A committed fact (handlers/facts.py) as a counter increment."""
    counter = _FACTS.get(name)
    if counter is not None:
        counter.labels(**labels).inc()


facts.subscribe(count_fact)


def clock_pass(counts: dict[str, int]) -> None:
    """Count a committed clock pass (`run_clock`'s result)."""
    for action, key in (("reminder", "reminders"), ("escalation", "escalations"), ("archive", "archived"),
                        ("settle", "settled"), ("hand_over_unplaced", "handed_over")):
        if counts.get(key):
            CLOCK.labels(action).inc(counts[key])


def send_attempted(channel: str, failure: str | None = None, notices: int = 0) -> None:
    """Count one WeCom send: its failure class, or the notices it delivered."""
    SEND_ATTEMPTS.labels(channel).inc()
    if failure is not None:
        SEND_FAILURES.labels(channel, failure).inc()
    elif notices:
        NOTICES_SENT.labels(channel).inc(notices)


class LatencyMiddleware:
    """Times every HTTP request by its route template (`/admin/cases/{case_id}`, not the raw path).

    A plain ASGI middleware: no request object, one dict lookup and two metric updates per request.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app
        self._children: dict[tuple[str, str], tuple] = {}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._observe(scope, status, time.perf_counter() - start)

    def _observe(self, scope: dict, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        key = (route, scope["method"])
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (LATENCY.labels(route, scope["method"]), {})
        latency, responses = children
        latency.observe(seconds)
        response = responses.get(status)
        if response is None:
            response = responses[status] = RESPONSES.labels(route, str(status))
        response.inc()


class BacklogCollector:
    """The outbox backlog, read at scrape time: unsent notices by status, age of the oldest pending one."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with reading(self._factory) as session:  # not the write lock a processor's batch holds
            counts = dict(session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.DEAD.value]))
                .group_by(OutboxMessage.status)).all())
            oldest = oldest_pending(session)
        backlog = GaugeMetricFamily("gridbot_outbox_notices", "Unsent notices by status (pending, dead).",
                                    labels=["status"])
        for status in (OutboxStatus.PENDING, OutboxStatus.DEAD):
            backlog.add_metric([status.value], counts.get(status.value, 0))
        yield backlog
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("gridbot_outbox_oldest_pending_age_seconds",
                                "Seconds since the oldest pending notice was queued (0: none pending).",
                                value=max(age, 0.0))


class ProcessCollector:
    """The counters and histograms of this process, or of every process sharing PROMETHEUS_MULTIPROC_DIR."""

    def collect(self) -> Iterator:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            yield from MultiProcessCollector(None).collect()
        else:
            yield from REGISTRY.collect()


def registry_for(factory: sessionmaker[Session]) -> CollectorRegistry:
    """Everything `/metrics` shows: the process counters plus the database's outbox backlog."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessCollector())
    registry.register(BacklogCollector(factory))
    return registry


def serve_metrics(port: int, factory: sessionmaker[Session]) -> None:
    """Serve `/metrics` on `port` from a process without HTTP (`gridbot worker`, `gridbot outbox run`)."""
    if port:
        start_http_server(port, registry=registry_for(factory))


router = APIRouter()


def allowed_client(host: str | None, networks: list) -> bool:
    """Whether a client address lies in one of `networks` (an unparseable address never does)."""
    try:
        address = ip_address(host or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, state: AppState = Depends(get_state)) -> Response:
    """The app's metrics, only to loopback and GRIDBOT_METRICS_NETWORKS (others: 404, as if absent)."""
    if not allowed_client(request.client.host if request.client else None, state.settings.metrics_allowed):
        return Response(status_code=404)
    body = await state.runner.run(generate_latest, registry_for(state.factory))
    return Response(body, media_type=CONTENT_TYPE_LATEST)

"""The latency middleware labels requests by route template (bounded series), never by raw path."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from bot.metrics import LatencyMiddleware


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_timed_per_route_template_and_counted_per_status():
    app = FastAPI()

    @app.get("/probe/items/{item_id}")
    async def item(item_id: int) -> dict:
        return {"id": item_id}

    app.add_middleware(LatencyMiddleware)
    count = "gridbot_http_request_duration_seconds_count"
    before = _sample(count, route="/probe/items/{item_id}", method="GET")
    unmatched = _sample("gridbot_http_responses_total", route="unmatched", status="404")
    with TestClient(app) as client:
        for path in ("/probe/items/1", "/probe/items/2", "/probe/items/x", "/probe/nothing-here"):
            client.get(path)
    assert _sample(count, route="/probe/items/{item_id}", method="GET") == before + 3
    assert _sample("gridbot_http_responses_total", route="/probe/items/{item_id}", status="422") >= 1
    assert _sample("gridbot_http_responses_total", route="unmatched", status="404") == unmatched + 1
    assert _sample(count, route="/probe/items/1", method="GET") == 0.0

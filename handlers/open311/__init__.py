"""Open311 GeoReport v2: partner systems file requests (cases) and follow them.

Public surface (plain values and a session, like every handler):
- `keys`: `create_key`, `revoke_key`, `list_keys`, `authenticate` (403 / 429), `reporter_of`;
- `services`: `service_list`, `service_definition` — the matter catalogue as Open311 services;
- `filing`: `check` (a request's form values → `Filing`, 400 before anything is written),
  `inbound_for` (→ the intake's `Inbound`), `handle` (what the dispatcher runs: the case),
  `filed` (the answer: the case number, or a token while the intake is behind);
- `views`: `parse_query`, `find_requests`, `request_detail`, `token_status` — no personal data;
- `Open311Error(code, description)`: what the edge answers as `[{code, description}]`.
"""

from handlers.open311.errors import Open311Error
from handlers.open311.filing import CHANNEL, Filing, check, filed, handle, inbound_for, inbound_from_payload
from handlers.open311.keys import (
    DEFAULT_RATE,
    ApiKeyError,
    KeyInfo,
    authenticate,
    create_key,
    list_keys,
    reporter_of,
    revoke_key,
)
from handlers.open311.services import service_definition, service_list
from handlers.open311.views import find_requests, parse_query, request_detail, token_status

__all__ = [
    "CHANNEL", "DEFAULT_RATE", "ApiKeyError", "Filing", "KeyInfo", "Open311Error", "authenticate", "check", "create_key", "filed",
    "find_requests", "handle", "inbound_for", "inbound_from_payload", "list_keys", "parse_query", "reporter_of",
    "request_detail", "revoke_key", "service_definition", "service_list", "token_status",
]

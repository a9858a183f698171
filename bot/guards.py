"""Two plain ASGI middlewares every response passes: security headers, and early limits on console bodies."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import PlainTextResponse

# Scripts: the console's own files (vendored Leaflet) and inline scripts carrying the page's nonce
# (bot/admin/common/rendering.py); styles may be inline (charts, Leaflet); map tiles come from a configured server.
CSP = ("default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; img-src * data: blob:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"same-origin")]
DEMO_PREFIX = "/demo"  # the demo's chat simulator runs its own inline script: no CSP there


class SecurityHeaders:
    """nosniff, no framing, same-origin referrers everywhere; a CSP (no inline script without the page's
    nonce) except on the demo simulator."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        demo = scope["path"].startswith(DEMO_PREFIX)

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                extra = HEADERS if demo else [*HEADERS, (b"content-security-policy", _policy(scope))]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def _policy(scope: dict) -> bytes:
    nonce = scope.get("state", {}).get("csp_nonce")
    return CSP.format(nonce=f" 'nonce-{nonce}'" if nonce else "").encode()


class AdminBodyLimit:
    """Every `/admin` request body is limited before anything reads it: a declared length over the limit
    is answered 413 at once; a body that grows past it is answered 413 there, and the app then sees a
    client that went away (whatever it answers is dropped). Uploads get `upload` bytes, every other
    console form `form` bytes."""

    def __init__(self, app: Callable, *, form: int, upload: int, upload_paths: frozenset[str]) -> None:
        self.app, self.form, self.upload, self.upload_paths = app, form, upload, upload_paths

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/admin"):
            await self.app(scope, receive, send)
            return
        limit = self.upload if path in self.upload_paths else self.form
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(scope, receive, send)
            return
        received = 0
        refused = False

        async def counted() -> dict:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: dict) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)


async def _too_large(scope: dict, receive: Callable, send: Callable) -> None:
    await PlainTextResponse("请求内容过大。", status_code=413)(scope, receive, send)

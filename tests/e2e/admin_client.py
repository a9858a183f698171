"""A logged-in browser stand-in for the console's e2e tests: cookies, CSRF tokens, forms."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ADMIN_PASSWORD = "e2e-admin-pass"  # tests/e2e/conftest.py's app_settings


class AdminClient:
    def __init__(self, base_url: str, client_ip: str | None = None) -> None:
        """`client_ip`: appear as this address (X-Forwarded-For, trusted from loopback by uvicorn's default)."""
        headers = {"X-Forwarded-For": client_ip} if client_ip else {}
        self.http = httpx.Client(base_url=base_url, timeout=30, headers=headers)
        self.token = ""

    def get(self, path: str, **params) -> httpx.Response:
        response = self.http.get(path, params=params or None)
        found = CSRF.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict | None = None, files: dict | None = None, *,
             csrf: str | None = None) -> httpx.Response:
        """POST a form with the current token (or `csrf` to forge one); redirects are not followed."""
        return self.http.post(path, data={**(data or {}), "csrf_token": self.token if csrf is None else csrf},
                              files=files)

    def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> httpx.Response:
        self.get("/admin/login")
        return self.post("/admin/login", {"username": username, "password": password, "next": "/admin/"})

    def close(self) -> None:
        self.http.close()


def logged_in(base_url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> AdminClient:
    client = AdminClient(base_url)
    answer = client.login(username, password)
    assert answer.status_code == 303, answer.text
    client.get("/admin/")
    return client

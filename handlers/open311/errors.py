"""`Open311Error`: a refusal the Open311 edge answers as `[{code, description}]` with that HTTP status."""

from __future__ import annotations


class Open311Error(Exception):
    """400 (a bad request), 403 (no valid api_key), 404 (nothing of that id) or 429 (over the key's rate)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

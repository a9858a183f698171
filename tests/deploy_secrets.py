"""Callback secrets of a test deployment: not the public demo values, so an app started outside
demo mode accepts them (bot/safety.py refuses the demo ones)."""

from __future__ import annotations

TEST_SECRETS = {"wecom_corp_id": "wwgridbottest0001", "wecom_token": "gridbottesttoken",
                "wecom_aes_key": "9oYz6LbyIgUBjT5a+SvvcFgZcgp7V731BBOHPaKkRcQ", "wecom_secret": "gridbot-test-secret"}


def secrets_env(settings) -> dict[str, str]:
    """The callback secrets of `settings` as GRIDBOT_* variables, for app processes started by tests."""
    return {f"GRIDBOT_{name.upper()}": getattr(settings, name) for name in TEST_SECRETS}

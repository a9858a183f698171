"""What a deployment must set: start-up refuses the public demo secrets outside the demo, and
`gridbot doctor` lists every setting that still leaves a door open."""

from __future__ import annotations

from datetime import timezone
from ipaddress import ip_address
from urllib.parse import urlsplit

from config.settings import DEMO_AES_KEY, DEMO_CORP_ID, DEMO_SECRET, DEMO_TOKEN, Settings, SettingsError
from handlers.cases.timing import clock_rules, official_calendar_covers
from handlers.console.accounts import DEMO_ADMIN_PASSWORD
from models import utcnow

CALLBACK_SECRETS = {"wecom_corp_id": DEMO_CORP_ID, "wecom_token": DEMO_TOKEN, "wecom_aes_key": DEMO_AES_KEY,
                    "wecom_secret": DEMO_SECRET}
# Object-store keys printed in every quick start: MinIO's default account and AWS's documentation example.
PUBLIC_S3_KEYS = frozenset({"minioadmin", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})


class UnsafeSettings(SettingsError):
    """Start-up refused: the message has one line per setting to fix."""


def _env(name: str) -> str:
    return f"GRIDBOT_{name.upper()}"


def refusals(settings: Settings) -> list[str]:
    """Why the app must not start: outside the demo, each callback secret still unset or the demo value,
    and a media bucket's key that every quick start prints."""
    if settings.demo:
        return []
    refused = [f"{_env(name)}: unset or the public demo value; set this deployment's own"
               for name, demo_value in CALLBACK_SECRETS.items() if getattr(settings, name) in ("", demo_value)]
    if settings.media_store == "s3":
        refused += [f"{_env(name)}: a publicly known example key; give gridbot its own access key"
                    for name in ("media_s3_access_key", "media_s3_secret_key")
                    if getattr(settings, name) in PUBLIC_S3_KEYS]
    return refused


def _local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False


def channel_findings(settings: Settings) -> list[str]:
    """What leaves the resident channels (微信客服 links and QR codes, kept media) open or broken."""
    found = []
    public_url = settings.public_url
    if not settings.demo and (public_url is None or _local(public_url) or public_url.startswith("http://")):
        found.append(f"GRIDBOT_PUBLIC_URL: {public_url or 'unset'} — progress links and QR codes must name the "
                     "public https address residents open in WeChat")
    odd = sorted(kfid for kfid in settings.kf_excluded if not kfid.startswith("wk"))
    if odd:
        found.append(f"GRIDBOT_KF_EXCLUDE: {', '.join(odd)} not an open_kfid (wk…) — the account meant is "
                     "still served")
    endpoint = settings.media_s3_endpoint
    if settings.media_store == "s3" and endpoint and endpoint.startswith("http://") and not _local(endpoint):
        found.append("GRIDBOT_MEDIA_S3_ENDPOINT: plain http — residents' photos cross the network unencrypted")
    return found


def require_safe(settings: Settings) -> None:
    """Raise UnsafeSettings naming each refused setting."""
    problems = refusals(settings)
    if problems:
        raise UnsafeSettings("\n".join(problems))


def findings(settings: Settings) -> list[str]:
    """Everything still unsafe in `settings`, one line each (empty: nothing found)."""
    found = list(refusals(settings)) + channel_findings(settings)
    if settings.demo:
        found.append("GRIDBOT_DEMO: on — the chat simulator is mounted and the demo secrets are accepted")
    password = settings.admin_password
    if password is not None and (password == DEMO_ADMIN_PASSWORD or len(password) < 12):
        found.append("GRIDBOT_ADMIN_PASSWORD: the demo password or shorter than 12 characters")
    if not settings.demo and DEMO_TOKEN in (settings.wecom_bot_token, settings.wecom_previous_token):
        found.append("GRIDBOT_WECOM_BOT_TOKEN / _PREVIOUS_TOKEN: the public demo Token")
    if settings.aibot_enabled and not settings.wecom_bot_id:
        found.append("GRIDBOT_WECOM_BOT_ID: unset — the AI bot route accepts any aibotid")
    if any(network.prefixlen == 0 for network in settings.metrics_allowed):
        found.append("GRIDBOT_METRICS_NETWORKS: open to every address — /metrics is public")
    if not settings.secure_cookies:
        found.append("GRIDBOT_SECURE_COOKIES: off — behind a TLS proxy set it, or run uvicorn with "
                     "--forwarded-allow-ips=<the proxy's address> so X-Forwarded-Proto counts")
    if settings.wecom_max_age == 0:
        found.append("GRIDBOT_WECOM_MAX_AGE: 0 — replayed callbacks are not refused")
    now = utcnow()
    if settings.wecom_previous_token or settings.wecom_previous_aes_key:
        until = settings.wecom_previous_until
        if until is None or (until if until.tzinfo else until.replace(tzinfo=timezone.utc)) < now:
            found.append("GRIDBOT_WECOM_PREVIOUS_TOKEN / _AES_KEY: the rotation's overlap is over (or has no "
                         "GRIDBOT_WECOM_PREVIOUS_UNTIL) — remove the previous Token and key")
    year = now.year
    if clock_rules(settings.config_dir).working_hours.official_calendar and not official_calendar_covers(year):
        found.append(f"chinese-calendar: the installed package has no holidays for {year} — upgrade it, or list "
                     "them in lifecycle.yaml")
    return found

"""Runtime settings, read from `GRIDBOT_*` environment variables or a `.env` file."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHIPPED_CONFIG_DIR = Path(__file__).resolve().parent

DEMO_CORP_ID = "wwgridbotdemo0001"
DEMO_TOKEN = "gridbotdemotoken"
DEMO_AES_KEY = "lG2Bm1FnfniElq4M/ESt1AVYPrpWwqmA+ZD/jWgh6eA"
DEMO_SECRET = "gridbot-demo-secret"


S3_REQUIRED = ("media_s3_bucket", "media_s3_access_key", "media_s3_secret_key")


class Settings(BaseSettings):
    """Everything an operator can set; a bad value stops start-up naming the variable."""

    model_config = SettingsConfigDict(env_prefix="GRIDBOT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./gridbot.db"
    wecom_corp_id: str = DEMO_CORP_ID
    wecom_token: str = DEMO_TOKEN
    wecom_aes_key: str = DEMO_AES_KEY
    wecom_agent_id: int = 1000002
    wecom_secret: str = DEMO_SECRET
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    # Key rotation: the callback's previous Token/key stay accepted until this moment (ISO 8601).
    wecom_previous_token: str | None = None
    wecom_previous_aes_key: str | None = None
    wecom_previous_until: datetime | None = None
    # The 智能机器人 (AI bot) callback: same crypto, empty receive id, its own token/key. Unset: the
    # route is not answered (the demo fills in the demo values). bot_id: the only aibotid accepted.
    wecom_bot_token: str | None = None
    wecom_bot_aes_key: str | None = None
    wecom_bot_id: str | None = None
    session_secret: str | None = Field(default=None, min_length=32)  # console cookies; unset: generated, stored
    config_dir: Path = SHIPPED_CONFIG_DIR
    wecom_max_age: int = Field(default=300, ge=0)
    user_rate_limit: int = Field(default=30, ge=0)  # a report typed line by line is not a flood
    admin_password: str | None = None
    demo: bool = False
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    admin_upload_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024)  # registry/rules uploads
    secure_cookies: bool = False  # force Secure console cookies (else: when the request came over https)
    metrics_networks: str = "127.0.0.0/8,::1/128"  # who may read the app's /metrics (comma-separated CIDRs)
    outbox_interval: float = Field(default=1.0, gt=0)
    outbox_retry_base: float = Field(default=5.0, gt=0)  # seconds before a failed send's first retry
    outbox_max_attempts: int = Field(default=12, ge=1)  # then the notice goes to the dead letters
    outbox_lease: float = Field(default=120.0, ge=35)  # a crashed sender's claimed notices wait this long
    outbox_pace_per_minute: int = Field(default=25, ge=0)  # messages to one person a minute (WeCom drops > 30)
    clock_interval: float = Field(default=60.0, gt=0)
    run_background_jobs: bool = True
    retention_days: int = Field(default=0, ge=0)
    ready_max_backlog_age: float = Field(default=300.0, gt=0)  # /readyz fails when a pending notice is older
    metrics_port: int = Field(default=0, ge=0, le=65535)  # /metrics of `gridbot worker` / `outbox run`; 0: none
    public_url: str | None = None  # base of progress links and QR codes; None: the serving address
    # Signs progress links; None: derived from the WeCom secret and AES key.
    link_secret: str | None = Field(default=None, min_length=32)
    media_dir: Path = Path("./media")  # residents' and workers' photos, voice and video, kept (media_store=folder)
    # Or kept in an S3-compatible bucket (AWS S3, MinIO, Aliyun OSS, Tencent COS): media_store=s3.
    media_store: Literal["folder", "s3"] = "folder"
    media_s3_endpoint: str | None = Field(default=None, pattern=r"^https?://\S+$")  # None: AWS S3 itself
    media_s3_bucket: str | None = None
    media_s3_access_key: str | None = None
    media_s3_secret_key: str | None = None
    media_s3_region: str = "us-east-1"
    media_s3_addressing: Literal["path", "virtual"] = "path"  # virtual: bucket.endpoint (Aliyun OSS, Tencent COS)
    kf_exclude: str = ""  # comma-separated open_kfids whose kf events are ignored
    log_level: str = Field(default="INFO", pattern=r"(?i)^(debug|info|warning|error|critical)$")
    # The console map's background tiles, e.g. a production map service's https://…/{z}/{x}/{y}.png;
    # empty: no tiles, grid shapes only (works with no internet).
    map_tile_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    map_tile_attribution: str = ""

    @field_validator("wecom_aes_key", "wecom_bot_aes_key", "wecom_previous_aes_key")
    @classmethod
    def _aes_key_is_43_base64_chars(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) != 43:
            raise ValueError("must be 43 characters (the EncodingAESKey from the WeCom console)")
        try:
            key = base64.b64decode(value + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("is not valid base64") from exc
        if len(key) != 32:
            raise ValueError("must decode to 32 bytes")
        return value

    @field_validator("config_dir")
    @classmethod
    def _config_dir_exists(cls, value: Path) -> Path:
        if not (value / "catalogue.yaml").is_file():
            raise ValueError(f"{value} has no catalogue.yaml")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// SQLAlchemy URL")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @property
    def kf_excluded(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.kf_exclude.split(",") if part.strip())

    @field_validator("metrics_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            [ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]
        except ValueError as exc:
            raise ValueError(f"not a comma-separated list of networks: {exc}") from None
        return value

    @model_validator(mode="after")
    def _demo_bot_secrets(self) -> Settings:
        """The demo's AI bot (the simulator's group chat) uses the demo Token and key."""
        if self.demo and self.wecom_bot_token is None and self.wecom_bot_aes_key is None:
            self.wecom_bot_token, self.wecom_bot_aes_key = DEMO_TOKEN, DEMO_AES_KEY
        return self

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        """An S3 media store needs its bucket and both keys."""
        if self.media_store == "s3":
            missing = [name for name in S3_REQUIRED if not getattr(self, name)]
            if missing:
                raise ValueError(", ".join(f"GRIDBOT_{name.upper()}" for name in missing)
                                 + ": required when GRIDBOT_MEDIA_STORE=s3")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def aibot_enabled(self) -> bool:
        """The AI bot's route answers only with its own Token and key configured."""
        return bool(self.wecom_bot_token and self.wecom_bot_aes_key)

    @property
    def metrics_allowed(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(part.strip(), strict=False) for part in self.metrics_networks.split(",") if part.strip()]


class SettingsError(Exception):
    """A setting failed validation; the message names the variable."""


def load_settings() -> Settings:
    """Read settings, turning pydantic's report into one line per bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            if not error["loc"]:  # a check across settings: its message names them
                lines.append(str(error["msg"]).removeprefix("Value error, "))
                continue
            lines.append(f"GRIDBOT_{str(error['loc'][0]).upper()}: {error['msg']}")
        raise SettingsError("; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return load_settings()

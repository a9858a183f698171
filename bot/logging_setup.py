"""Process logging: JSON lines with personal data masked and secrets redacted in every record.

Masking happens when a record is created (a log record factory), not in one handler, so
whatever handler sees the record (stderr, a file, pytest's capture) gets the masked text.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Iterable
from functools import lru_cache
from itertools import islice

import orjson

from config.settings import Settings
from handlers.intake import log_context
from handlers.privacy.masking import mask_name, mask_text

# Query parameters and fields that carry credentials in WeCom API URLs and bodies.
_CREDENTIAL = re.compile(r"(?i)\b(access_token|corpsecret|secret|token|password|encodingaeskey|key)"
                         r"([\"']?\s*[=:]\s*[\"']?)([^&\s\"',}]+)")
_NAME_FIELDS = frozenset({"resident_name", "worker_name", "person"})
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_OWN = len(logging.makeLogRecord({}).__dict__)  # the fields LogRecord.__init__ sets, before any other
_HANDLER_MARK = "_gridbot_handler"
_REDACTED_BY = "_gridbot_redacted_by"  # on a record: the Redactor that redacted its message and traceback
_NOISY = ("httpx", "httpcore")  # log every request URL at INFO, access tokens included
_KEPT_CHARS = 200  # texts up to this long are kept redacted (Redactor); longer ones are redacted each time
_AT = "%Y-%m-%dT%H:%M:%S"  # a line's time, to the second
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode  # its encoder built once
_PLAIN = frozenset({str, int, bool, type(None)})  # what orjson writes exactly as json does


class Redactor:
    """Masks phone/ID numbers (handlers.privacy) and removes credentials from text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        # The same few texts come again and again ("message handled", "text", "handled"): each redacted once.
        self._known = lru_cache(maxsize=1024)(self._redacted)

    def __call__(self, text: str) -> str:
        return self._known(text) if len(text) <= _KEPT_CHARS else self._redacted(text)

    def _redacted(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
        return mask_text(_CREDENTIAL.sub(r"\1\2[secret]", text))

    def record(self, record: logging.LogRecord) -> logging.LogRecord:
        """`record` with its message, traceback and extra fields redacted in place."""
        return self.extra_fields(self.made(record))

    def made(self, record: logging.LogRecord) -> logging.LogRecord:
        """`record`, just made (no extra fields yet), with its message and traceback redacted in place."""
        record.msg, record.args = self(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = self(record.exc_text)
        if record.stack_info:
            record.stack_info = self(record.stack_info)
        record.__dict__[_REDACTED_BY] = self
        return record

    def extra_fields(self, record: logging.LogRecord, keys: list[str] | None = None) -> logging.LogRecord:
        """`record` with its extra fields (those `extra=` adds after the record is made; `keys`, when known) redacted
        in place."""
        fields = record.__dict__
        for key in _extra_keys(fields) if keys is None else keys:
            value = fields[key]
            if isinstance(value, str):
                fields[key] = mask_name(value) if key in _NAME_FIELDS else self(value)
        return record


def _extra_keys(fields: dict) -> list[str]:
    """The keys of a record's `fields` that are not a LogRecord's own, in the order they were added. LogRecord sets
    its own first, so only the keys after those are looked at (~4 a line, where a look at all ~25 cost ~14 K
    instructions a line); a formatter's `message` and `asctime` come later and are left out."""
    return [key for key in islice(fields, _OWN, None) if key not in _STANDARD]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields (msg_key, case…).

    Extra fields are attached after a record is created, so they are redacted here.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor
        self._second = (-1, "")  # the last second a line was written in, and its time as written

    def _at(self, record: logging.LogRecord) -> str:
        """`formatTime(record, _AT)`, kept for its second: the lines of one second share it."""
        second = int(record.created)
        last = self._second
        if last[0] != second:
            last = self._second = (second, self.formatTime(record, _AT))
        return last[1]

    def format(self, record: logging.LogRecord) -> str:
        if record.__dict__.get(_REDACTED_BY) is not self._redactor:  # not made by this redactor's record factory
            self._redactor.made(record)
        extra = _extra_keys(record.__dict__)
        self._redactor.extra_fields(record, extra)
        entry = {"at": self._at(record), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage(), **log_context.fields()}
        entry.update({key: record.__dict__[key] for key in extra if not key.startswith("_")})
        if record.exc_text:
            entry["exc"] = record.exc_text
        return _encoded(entry)


def _encoded(entry: dict) -> str:
    """`entry` as one compact JSON object: through orjson when every value is a plain str, int, bool or None (every
    line of a handled message: ~8 K instructions, where json's encoder, built anew each call, took ~26 K), else
    through json with `default=str` (dates, enums and floats written as before)."""
    if _PLAIN.issuperset(map(type, entry.values())):
        try:
            return orjson.dumps(entry).decode()
        except orjson.JSONEncodeError:  # an int beyond 64 bits, a lone surrogate
            pass
    return _ENCODE(entry)


_base_factory = logging.getLogRecordFactory()


def install_redactor(redactor: Redactor) -> None:
    """Make every log record of this process pass through `redactor` when it is created."""

    def factory(*args, **kwargs) -> logging.LogRecord:
        return redactor.made(_base_factory(*args, **kwargs))

    logging.setLogRecordFactory(factory)


def configure_logging(secrets: Iterable[str | None], level: str = "INFO") -> None:
    """JSON logs on stderr for gridbot's loggers, with secrets and personal data kept out.

    Idempotent: a second call replaces the handler and the secrets it knows.
    """
    redactor = Redactor(secrets)
    install_redactor(redactor)
    logger = logging.getLogger("gridbot")
    for handler in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(redactor))
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_from_settings(settings: Settings) -> None:
    """`configure_logging` with every credential the settings hold."""
    from sqlalchemy.engine import make_url

    secrets = [settings.wecom_token, settings.wecom_aes_key, settings.wecom_secret, settings.wecom_bot_token,
               settings.wecom_bot_aes_key, settings.admin_password, settings.session_secret,
               settings.wecom_previous_token, settings.wecom_previous_aes_key, make_url(settings.database_url).password]
    configure_logging(secrets, settings.log_level)

"""WeCom callback crypto: signature check, decrypt and encrypt, built on wechatpy.

Every failure is a `CallbackError` carrying the HTTP status the edge answers with,
so nothing a sender controls can turn into a 500.
"""

from __future__ import annotations

import binascii
import secrets
import struct
import time
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from wechatpy.crypto import _get_signature
from wechatpy.work.crypto import PrpCrypto, WeChatCrypto
from wechatpy.work.exceptions import InvalidCorpIdException


class CallbackError(Exception):
    """A callback the app refuses; `status` is the HTTP answer."""

    status = 400


class BadSignature(CallbackError):
    status = 403


class WrongReceiver(CallbackError):
    """Encrypted for another corp id (or another bot)."""

    status = 403


class StaleCallback(CallbackError):
    """Timestamp outside the allowed window: refused as a replay."""

    status = 403


class MalformedCallback(CallbackError):
    status = 400


def parse_xml(text: str | bytes) -> dict[str, str]:
    """Flat dict of an `<xml>` document's children; DTDs, entity declarations and external references
    are refused with defusedxml's own guards.

    expat directly rather than `defusedxml.ElementTree.fromstring`: that one builds a tree through
    the pure-Python XMLParser (~16 µs for an envelope, ~26 µs for a message; this: ~5 and ~8), and
    every callback goes through here twice.
    """
    fields: dict[str, str] = {}
    parts: list[str] = []
    depth = 0

    def start(_tag: str, _attributes: dict) -> None:
        nonlocal depth
        depth += 1
        if depth == 2:
            parts.clear()

    def end(tag: str) -> None:
        nonlocal depth
        if depth == 2:
            fields[tag] = "".join(parts)
        depth -= 1

    def data(chunk: str) -> None:
        if depth == 2:
            parts.append(chunk)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _forbid_doctype
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed_entity
    parser.ExternalEntityRefHandler = _forbid_external_reference
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    parser.buffer_text = True
    try:
        parser.Parse(text, True)
    except (expat.ExpatError, DefusedXmlException, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise MalformedCallback(f"unreadable XML: {type(exc).__name__}") from None
    return fields


def _forbid_doctype(name: str, sysid: str | None, pubid: str | None, _internal_subset: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(name: str, _is_parameter: bool, value: str | None, base: str | None, sysid: str | None,
                   pubid: str | None, notation: str | None) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed_entity(name: str, base: str | None, sysid: str | None, pubid: str | None,
                            notation: str | None) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external_reference(context: str, base: str | None, sysid: str | None, pubid: str | None) -> None:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


class CallbackCrypto:
    """Verifies and decrypts callbacks for one receive id; encrypts passive replies.

    Key rotation: with `previous` (the old Token/key) and `previous_until` (a Unix time), a callback
    the current key cannot open is tried with the previous one until then, and its reply is sealed
    with the key it came in with.
    """

    def __init__(self, token: str, aes_key: str, receive_id: str, *, max_age: int = 0,
                 previous: CallbackCrypto | None = None, previous_until: float = 0.0) -> None:
        self._crypto = WeChatCrypto(token, aes_key, receive_id)
        self._prp = PrpCrypto(self._crypto.key)
        self.token = token
        self.receive_id = receive_id
        self.max_age = max_age
        self.previous, self.previous_until = previous, previous_until

    def _keys(self) -> list[CallbackCrypto]:
        if self.previous is not None and time.time() < self.previous_until:
            return [self, self.previous]
        return [self]

    def _open(self, encrypted: str, signature: str, timestamp: str, nonce: str) -> tuple[str, CallbackCrypto]:
        """(plaintext, the key that opened it): the current key, else the previous one during its overlap."""
        refused: CallbackError | None = None
        for crypto in self._keys():
            try:
                crypto._check(signature, timestamp, nonce, encrypted)
                return crypto._decrypt(encrypted), crypto
            except (BadSignature, WrongReceiver, MalformedCallback) as error:  # a stale timestamp is final
                refused = refused or error
        raise refused

    def _check(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        if not (signature and timestamp and nonce and encrypted):
            raise BadSignature("missing signature parameters")
        expected = _get_signature(self.token, timestamp, nonce, encrypted)
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, i.e. a 500).
        if not secrets.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise BadSignature("signature mismatch")
        if self.max_age:
            try:
                # Integer arithmetic: a 400-digit timestamp must not overflow a float.
                age = abs(int(time.time()) - int(timestamp))
            except ValueError:
                raise BadSignature("timestamp is not a number") from None
            if age > self.max_age:
                raise StaleCallback("timestamp outside the allowed window")

    def _decrypt(self, encrypted: str) -> str:
        try:
            return self._prp.decrypt(encrypted, self.receive_id)
        except InvalidCorpIdException:
            raise WrongReceiver("encrypted for another receiver") from None
        except (ValueError, TypeError, IndexError, struct.error, binascii.Error, UnicodeDecodeError):
            raise MalformedCallback("cannot decrypt") from None

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The decrypted echostr of a URL verification request."""
        return self._open(echostr, signature, timestamp, nonce)[0]

    def open_xml(self, body: bytes, signature: str, timestamp: str, nonce: str) -> tuple[str, CallbackCrypto]:
        """(the plaintext of an encrypted XML callback body, the key that opened it: seal the reply with it)."""
        encrypted = parse_xml(body).get("Encrypt", "")
        if not encrypted:
            raise MalformedCallback("no Encrypt element")
        return self._open(encrypted, signature, timestamp, nonce)

    def decrypt_xml(self, body: bytes, signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext of an encrypted XML callback body."""
        return self.open_xml(body, signature, timestamp, nonce)[0]

    def decrypt_field(self, encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext of an already-extracted `encrypt` value (the AI bot's JSON body)."""
        self._check(signature, timestamp, nonce, encrypted)
        return self._decrypt(encrypted)

    def encrypt(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        """(encrypted, signature) for a reply."""
        encrypted = self._prp.encrypt(plaintext, self.receive_id).decode()
        return encrypted, _get_signature(self.token, timestamp, nonce, encrypted)

    def encrypt_xml(self, plaintext: str, nonce: str, timestamp: str | None = None) -> str:
        """The encrypted passive-reply envelope (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        timestamp = timestamp or str(int(time.time()))
        encrypted, signature = self.encrypt(plaintext, nonce, timestamp)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )

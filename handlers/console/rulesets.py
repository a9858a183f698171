"""Versioned rule sets: one shared draft, numbered published versions, rollback, import/export.

The highest published number is the rule set in force in every process (see
`PublishedRules`); with nothing published, the config dir's files are in force. Rolling
back publishes an older version's data again under a new number.
"""

from __future__ import annotations

import copy
import difflib
import io
import tempfile
import threading
import time
import zipfile
import zlib
from datetime import datetime
from pathlib import Path, PurePosixPath

import yaml
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from handlers.classify import (
    Classifier,
    RuleConfigError,
    load_classifier,
    read_config,
    read_example_files,
    write_config,
)
from handlers.console.audit import record
from models import RuleSetStatus, RuleSetVersion

MAX_DIFF_CHARS = 20_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024  # the upload
MAX_IMPORT_UNPACKED = 20 * 1024 * 1024  # everything it decompresses to
MAX_IMPORT_FILES = 200


class RuleSetError(ValueError):
    """A draft operation that cannot be done (no draft, unknown version, bad upload …)."""


def to_yaml(value) -> str:
    """A catalogue entry or rule list as the YAML an admin edits."""
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=120)


def parse_yaml(text: str, what: str):
    """YAML text from the console, or RuleSetError naming which box was wrong."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RuleSetError(f"{what}: {error}") from None


def latest_number(session: Session) -> int | None:
    return session.scalar(select(func.max(RuleSetVersion.number)))


def version(session: Session, number: int) -> RuleSetVersion | None:
    return session.scalars(select(RuleSetVersion).where(RuleSetVersion.number == number)).first()


def in_force(session: Session, config_dir: Path) -> tuple[int | None, dict]:
    """(version number or None for the config files, the rule set as `Classifier.to_dict()`)."""
    number = latest_number(session)
    if number is None:
        return None, load_classifier(config_dir).to_dict()
    return number, copy.deepcopy(version(session, number).data)


def versions(session: Session) -> list[RuleSetVersion]:
    return list(session.scalars(select(RuleSetVersion).where(RuleSetVersion.number.is_not(None))
                                .order_by(RuleSetVersion.number.desc())))


def draft(session: Session) -> RuleSetVersion | None:
    return session.scalars(select(RuleSetVersion).where(RuleSetVersion.status == RuleSetStatus.DRAFT)).first()


def start_draft(session: Session, config_dir: Path, *, author: str, now: datetime) -> RuleSetVersion:
    """The draft, created from the rule set in force when there is none."""
    existing = draft(session)
    if existing is not None:
        return existing
    number, data = in_force(session, config_dir)
    row = RuleSetVersion(status=RuleSetStatus.DRAFT, data=data, base_number=number, author=author, created_at=now)
    session.add(row)
    session.flush()
    record(session, actor=author, action="rules_draft_start", target=f"v{number}" if number else "config",
           now=now)
    return row


def validate(data: dict) -> Classifier:
    """The classifier for `data`, or RuleSetError with the validator's message (file, rule, field)."""
    try:
        return Classifier.from_dict(data)
    except RuleConfigError as error:
        raise RuleSetError(str(error)) from None


def edit_category(session: Session, row: RuleSetVersion, name: str, *, entry: dict, rules: list,
                  author: str, now: datetime) -> None:
    """Replace one category's catalogue entry and rules in the draft (validated as a whole)."""
    data = copy.deepcopy(row.data)
    entries = data["catalogue"].setdefault("categories", [])
    if not isinstance(entry, dict) or entry.get("name") != name:
        raise RuleSetError(f"类别设置必须是一个映射，且 name 为 {name}")
    index = next((i for i, e in enumerate(entries) if e.get("name") == name), None)
    if index is None:
        entries.append(entry)
    else:
        entries[index] = entry
    if not isinstance(rules, list):
        raise RuleSetError("规则必须是一个列表")
    data["rules"][name] = rules
    validate(data)
    record(session, actor=author, action="rules_draft_edit", target=name, now=now,
           diff=diff(row.data, data))
    row.data = data
    row.author = author


def add_examples(session: Session, row: RuleSetVersion, examples: list[tuple[str, str]], *, source: str,
                 author: str, now: datetime) -> int:
    """Add labelled examples (e.g. corrections) to the draft, so that its model is retrained on them too;
    those already in it are skipped. How many were added."""
    data = copy.deepcopy(row.data)
    current = data.setdefault("examples", [])
    known = {(example["text"], example["label"]) for example in current}
    added = [{"text": text, "label": label, "source": source} for text, label in dict.fromkeys(examples)
             if text.strip() and (text, label) not in known]
    if not added:
        return 0
    current.extend(added)
    validate(data)
    record(session, actor=author, action="rules_draft_examples", target=source, now=now, added=len(added))
    row.data = data
    row.author = author
    return len(added)


def discard_draft(session: Session, *, author: str, now: datetime) -> None:
    row = draft(session)
    if row is not None:
        session.delete(row)
        record(session, actor=author, action="rules_draft_discard", target=None, now=now)


def _publish_data(session: Session, data: dict, *, author: str, note: str | None, now: datetime,
                  base: int | None) -> RuleSetVersion:
    number = (latest_number(session) or 0) + 1
    row = RuleSetVersion(number=number, status=RuleSetStatus.PUBLISHED, data=data, base_number=base,
                         author=author, note=note, created_at=now, published_at=now)
    session.add(row)
    session.flush()
    return row


def publish(session: Session, config_dir: Path, *, author: str, note: str | None, now: datetime) -> RuleSetVersion:
    """The draft becomes the next numbered version, in force everywhere within seconds."""
    row = draft(session)
    if row is None:
        raise RuleSetError("没有草稿")
    validate(row.data)
    number, current = in_force(session, config_dir)
    published = _publish_data(session, row.data, author=author, note=note, now=now, base=number)
    session.delete(row)
    record(session, actor=author, action="rules_publish", target=f"v{published.number}", now=now, note=note,
           diff=diff(current, published.data))
    return published


def rollback(session: Session, config_dir: Path, to_number: int, *, author: str, now: datetime) -> RuleSetVersion:
    """Publish version `to_number`'s data again as the newest version."""
    old = version(session, to_number)
    if old is None:
        raise RuleSetError(f"没有版本 v{to_number}")
    number, current = in_force(session, config_dir)
    published = _publish_data(session, copy.deepcopy(old.data), author=author, note=f"回滚到 v{to_number}",
                              now=now, base=number)
    record(session, actor=author, action="rules_rollback", target=f"v{published.number}", now=now,
           to=to_number, diff=diff(current, published.data))
    return published


def files(data: dict) -> dict[str, str]:
    """The rule set as the config/ files it would be written to: {relative path: YAML text}."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        written = write_config(root, data["catalogue"], data["rules"], data.get("examples"))
        return {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8") for path in written}


def diff(old: dict, new: dict) -> str:
    """A unified diff of the two rule sets' config files (capped for the audit log)."""
    before, after = files(old), files(new)
    chunks = []
    for name in sorted(set(before) | set(after)):
        lines = difflib.unified_diff(before.get(name, "").splitlines(keepends=True),
                                     after.get(name, "").splitlines(keepends=True),
                                     fromfile=f"a/{name}", tofile=f"b/{name}", n=1)
        chunks.append("".join(lines))
    text = "".join(chunks)
    return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "\n… (diff truncated)\n"


def export_zip(data: dict) -> bytes:
    """A zip of catalogue.yaml, rules/*.yaml and examples/*.csv, the format of config/."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files(data).items():
            archive.writestr(name, text)
    return out.getvalue()


def _wanted(name: PurePosixPath) -> bool:
    """catalogue.yaml, rules/<name>.yaml and examples/<name>.csv: the only members an import reads."""
    folder_suffix = (name.parts[0], name.suffix) if len(name.parts) == 2 else None
    return name.as_posix() == "catalogue.yaml" or folder_suffix in (("rules", ".yaml"), ("examples", ".csv"))


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Write one member, reading at most `budget` bytes of its output whatever its header claims (a zip
    bomb stops there); the bytes written."""
    written = 0
    with archive.open(info) as source, target.open("wb") as out:
        while chunk := source.read(64 * 1024):
            written += len(chunk)
            if written > budget:
                raise RuleSetError("文件过大（解压后超过 20 MB）")
            out.write(chunk)
    return written


def import_zip(payload: bytes) -> dict:
    """A rule set from a zip in the config/ format (validated), or RuleSetError.

    At most MAX_IMPORT_FILES members are read and MAX_IMPORT_UNPACKED written in all, counted as they
    are decompressed (never trusting the sizes the archive declares)."""
    if len(payload) > MAX_IMPORT_BYTES:
        raise RuleSetError("文件过大")
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile:
        raise RuleSetError("不是 zip 文件") from None
    with tempfile.TemporaryDirectory() as folder, archive:
        root = Path(folder)
        members = [info for info in archive.infolist() if not info.is_dir() and _wanted(PurePosixPath(info.filename))]
        if len(members) > MAX_IMPORT_FILES:
            raise RuleSetError(f"文件过多（最多 {MAX_IMPORT_FILES} 个规则文件）")
        budget = MAX_IMPORT_UNPACKED
        try:
            for info in members:
                name = PurePosixPath(info.filename)
                (root / name.parent).mkdir(parents=True, exist_ok=True)
                budget -= _extract(archive, info, root / name, budget)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
            raise RuleSetError("zip 文件已损坏或加密") from None
        try:
            catalogue, rules, _ = read_config(root)
            examples = read_example_files(root)
        except RuleConfigError as error:
            raise RuleSetError(str(error).replace(folder, "")) from None
    data = {"catalogue": catalogue, "rules": rules, "examples": examples}
    validate(data)
    return data


def replace_draft(session: Session, config_dir: Path, data: dict, *, author: str, now: datetime,
                  source: str) -> RuleSetVersion:
    """Make `data` the draft (an import): the old draft's edits are replaced."""
    row = start_draft(session, config_dir, author=author, now=now)
    record(session, actor=author, action="rules_import", target=source, now=now, diff=diff(row.data, data))
    row.data = data
    return row


class PublishedRules:
    """`Services.classifier_source`: the newest published version, else the config dir.

    Looks the newest number up at most every `ttl` seconds through its own autocommit
    connection (never inside a caller's transaction), and rebuilds only when it changes.
    With nothing published, the config dir's files are checked for changes on the same
    `ttl` (not on every message: that is ~30 stat calls).
    """

    def __init__(self, database_url: str, config_dir: Path, ttl: float = 2.0) -> None:
        self._engine = create_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=2)
        self._config_dir = config_dir
        self._ttl = ttl
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._number: int | None = None
        self._classifier: Classifier | None = None

    def __call__(self) -> Classifier:
        with self._lock:
            if time.monotonic() - self._checked >= self._ttl:
                self._refresh()
            return self._classifier

    def look_again(self) -> None:
        """Look the newest version up at the next call, not once `ttl` has passed (this process just published
        or rolled back: its next message uses the rule set the admin chose)."""
        with self._lock:
            self._checked = float("-inf")

    def _refresh(self) -> None:
        with Session(self._engine) as session:
            number = latest_number(session)
            if number is None:
                self._classifier = load_classifier(self._config_dir)
            elif number != self._number:
                self._classifier = Classifier.from_dict(version(session, number).data)
            self._number = number
        self._checked = time.monotonic()

    def close(self) -> None:
        self._engine.dispose()

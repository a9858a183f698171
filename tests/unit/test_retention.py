"""Retention: personal data of long-ended cases is purged, statistics and open cases are untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.media import FolderStore, MediaStore
from handlers.privacy.retention import purge
from models import Case, CaseEvent, CaseState, InboundMessage, OutboxMessage, Resident, StoredMedia, utcnow
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.cli import run_cli

PHONE = "13812345678"
NOW = utcnow()
OLD = NOW - timedelta(days=200)
RECENT = NOW - timedelta(days=5)


def _case(session, resident: Resident, *, state: str, at, text: str) -> Case:
    case = Case(state=state, category="环境卫生", text=text, reporter_userid=resident.userid, resident=resident,
                location={"lat": 22.6, "lng": 113.1, "label": "幸福路8号"}, rating="satisfied",
                classification={"category": "环境卫生", "normalised": text}, created_at=at, updated_at=at)
    session.add(case)
    session.flush()
    session.add(CaseEvent(case=case, at=at, actor=resident.userid, action="report", to_state=state,
                          note=f"联系{PHONE}", attachments=[{"kind": "image", "media_id": "m1", "pic_url": "http://x"}]))
    session.add(InboundMessage(msg_key=f"app:{case.id}", from_userid=resident.userid, msg_type="text",
                               content=text, reply="已受理", payload={"MsgType": "text", "Content": text},
                               case_id=case.id, received_at=at))
    session.add(OutboxMessage(dedupe_key=f"n{case.id}", channel="user", recipient="w", text=text,
                              case_id=case.id, status="sent"))
    return case


@pytest.fixture(scope="module")
def factory(database_url: str):
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        old_only = Resident(userid="old-only", name="张三丰", phone=PHONE)
        active = Resident(userid="active", name="李四", phone="13900001111")
        session.add_all([old_only, active])
        session.flush()
        _case(session, old_only, state=CaseState.ARCHIVED, at=OLD, text=f"垃圾没人清，电话{PHONE}")
        _case(session, active, state=CaseState.ARCHIVED, at=OLD, text="路灯坏了 13900001111")
        _case(session, active, state=CaseState.IN_PROGRESS, at=OLD, text="井盖丢了")
        _case(session, active, state=CaseState.ARCHIVED, at=RECENT, text="噪音太大")
        session.add(InboundMessage(msg_key="app:loose-old", from_userid="old-only", msg_type="text",
                                   content=f"税务怎么办 {PHONE}", payload={"Content": "x"}, received_at=OLD))
        session.add(InboundMessage(msg_key="app:loose-new", from_userid="old-only", msg_type="text",
                                   content="你好", payload={"Content": "你好"}, received_at=RECENT))
    yield factory
    engine.dispose()


def _statistics(session) -> list[tuple]:
    return session.execute(select(Case.category, Case.state, Case.rating, func.count())
                           .group_by(Case.category, Case.state, Case.rating).order_by(Case.state)).all()


def test_purge_removes_personal_data_of_long_archived_cases_and_keeps_statistics(factory):
    with factory() as session:
        before = _statistics(session)
    report = purge(factory, now=NOW, days=90)
    assert (report.cases, report.residents) == (2, 1)
    with factory() as session:
        assert _statistics(session) == before
        purged = session.scalars(select(Case).where(Case.purged_at.is_not(None))).all()
        assert all(PHONE not in case.text and case.location is None for case in purged)
        assert all("normalised" not in case.classification for case in purged)
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_([c.id for c in purged]))).all()
        assert all(PHONE not in event.note and event.attachments == [{"kind": "image"}] for event in events)
        old_only = session.scalars(select(Resident).where(Resident.userid == "old-only")).one()
        assert (old_only.name, old_only.phone) == (None, None)
        notices = session.scalars(select(OutboxMessage.text).where(OutboxMessage.case_id.in_([c.id for c in purged])))
        assert set(notices) == {""}


def test_purge_removes_free_text_of_old_messages_but_keeps_their_msgid(factory):
    with factory() as session:
        old = session.scalars(select(InboundMessage).where(InboundMessage.received_at < NOW - timedelta(days=90))
                              .where(InboundMessage.case_id.is_(None) | InboundMessage.case_id.in_(
                                  select(Case.id).where(Case.purged_at.is_not(None))))).all()
        assert old and all(m.content is None and m.reply is None and "Content" not in m.payload for m in old)
        assert {m.msg_key for m in old} >= {"app:loose-old"}


def test_open_and_recent_cases_and_residents_with_them_keep_their_data(factory):
    with factory() as session:
        kept = session.scalars(select(Case).where(Case.purged_at.is_(None))).all()
        assert sorted(case.text for case in kept) == sorted(["井盖丢了", "噪音太大"])
        assert session.scalars(select(Resident.phone).where(Resident.userid == "active")).one() == "13900001111"
        assert session.scalars(select(InboundMessage.content).where(InboundMessage.msg_key == "app:loose-new")).one()


def test_second_purge_finds_nothing_more(factory):
    report = purge(factory, now=NOW, days=90)
    assert (report.cases, report.messages, report.residents) == (0, 0, 0)


def test_retention_purge_command_refuses_when_retention_is_off(database_url, factory):
    result = run_cli(["retention", "purge"], database_url, GRIDBOT_RETENTION_DAYS="0")
    assert result.exit_code == 2
    assert "GRIDBOT_RETENTION_DAYS" in result.output


def test_retention_purge_command_purges_as_of_the_given_moment_with_the_kept_media(database_url, factory, tmp_path):
    kept = MediaStore(FolderStore(tmp_path))
    key = kept.save(factory, "m1", "image", b"\x89PNG photo of the resident's door", "image/png", NOW)
    later = (NOW + timedelta(days=365)).isoformat()
    result = run_cli(["retention", "purge", "--now", later], database_url, GRIDBOT_RETENTION_DAYS="90",
                     GRIDBOT_MEDIA_DIR=str(tmp_path))
    assert result.exit_code == 0, result.output
    assert '"cases": 1' in result.stdout  # the recently archived one is now old enough
    assert '"media": 1' in result.stdout and not (tmp_path / key).exists()
    with factory() as session:
        assert kept.open(session, "m1") is None and session.scalar(select(func.count()).select_from(StoredMedia)) == 0

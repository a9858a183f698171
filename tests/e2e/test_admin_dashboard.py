"""The dashboard's figures equal what a plain count over the cases table gives."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.texts import BEIJING
from models import Case, CaseLink, Grid, utcnow
from tests.e2e.admin_client import logged_in

# (state, hours ago, taken after (hours) or None, rating) — a small known mix.
MIX = [
    ("archived", 30, 0.5, "satisfied"), ("archived", 50, 2.0, "unsatisfied"), ("closed", 20, 0.2, None),
    ("in_progress", 10, 0.9, None), ("pending", 5, None, None), ("pending", 0.2, None, None),
    ("withdrawn", 40, None, None), ("archived", 24 * 40, 0.5, "basic"),
]
# Followers' ratings per MIX row (residents whose duplicate reports were merged into the case); "dash" is the
# reporter, whose own rating is the case's: a follow under the reporter's name must not count twice.
FOLLOWERS = {0: [("f1", "basic"), ("f2", "unsatisfied"), ("f3", None), ("dash", "unsatisfied")],
             2: [("f1", "satisfied")], 7: [("f4", "unsatisfied")]}


@pytest.fixture(scope="module")
def seeded(db):
    now = utcnow()
    with db.begin() as session:
        grid = session.scalars(select(Grid).order_by(Grid.id)).first()
        for row, (state, hours_ago, taken_after, rating) in enumerate(MIX):
            created = now - timedelta(hours=hours_ago)
            case = Case(state=state, category="环境卫生", text="dashboard fixture", reporter_userid="dash",
                        grid_id=grid.id, created_at=created, updated_at=created,
                        take_due=created + timedelta(hours=1), plan_due=created + timedelta(days=1),
                        close_due=created + timedelta(days=7),
                        taken_at=created + timedelta(hours=taken_after) if taken_after is not None else None,
                        closed_at=created + timedelta(hours=12) if state in ("closed", "archived") else None,
                        rating=rating)
            session.add(case)
            session.flush()
            session.add_all(CaseLink(case_id=case.id, userid=userid, rating=follower_rating, created_at=created)
                            for userid, follower_rating in FOLLOWERS.get(row, []))
    return now


def _expected(db, now) -> dict[str, str]:
    today = now.astimezone(BEIJING).date()
    start = today - timedelta(days=29)
    with db() as session:
        every = list(session.scalars(select(Case)))
        links = {(link.case_id, link.userid): link.rating for link in session.scalars(select(CaseLink))}
    in_period = [c for c in every if start <= c.created_at.astimezone(BEIJING).date() <= today]
    period_ids = {c.id: c.reporter_userid for c in in_period}
    rated = [c.rating for c in in_period if c.rating] + [
        rating for (case_id, userid), rating in links.items()
        if rating and case_id in period_ids and userid != period_ids[case_id]]
    good = [rating for rating in rated if rating in ("satisfied", "basic")]
    counted = [c for c in in_period if c.state not in ("withdrawn", "merged", "transferred")]
    done = [c for c in in_period if c.state in ("closed", "archived")]
    judged = [c for c in in_period if c.take_due and (c.taken_at or c.take_due < now)]
    on_time = [c for c in judged if c.taken_at and c.taken_at <= c.take_due]
    open_now = [c for c in every if c.state in ("awaiting_place", "pending", "in_progress", "suspended", "escalated")]
    overdue = [c for c in open_now if c.state != "suspended" and c.state != "awaiting_place" and (
        (c.taken_at is None and c.take_due and c.take_due <= now) or (c.planned_at is None and c.plan_due
                                                                     and c.plan_due <= now)
        or (c.closed_at is None and c.close_due and c.close_due <= now))]

    def pct(part, whole):
        return f"{len(part) / len(whole) * 100:.1f}%" if whole else "—"

    return {"received": str(len(in_period)), "done-rate": pct(done, counted), "on-time": pct(on_time, judged),
            "satisfaction": pct(good, rated), "open": str(len(open_now)), "overdue": str(len(overdue))}


def test_kpis_match_the_database(app_url, db, seeded):
    page = logged_in(app_url).get("/admin/", days=30).text
    shown = {key: re.search(rf'id="kpi-{key}">.*?class="value">([^<]*)<', page, re.S).group(1)
             for key in ("received", "done-rate", "on-time", "satisfaction", "open", "overdue")}
    assert shown == _expected(db, seeded)
    assert int(shown["received"]) >= len(MIX) - 1  # the 40-day-old case is outside the 30 days


def test_satisfaction_counts_followers_ratings_once_each(app_url, db, seeded):
    """Reporters 满意 + 不满意, followers 基本满意 + 不满意 + 满意 (an unrated follower, the reporter's own
    follow and a follow of a case outside the period not counted): 3 good of 5 — 50 % if followers were left
    out, 50 % if the reporter counted twice."""
    page = logged_in(app_url).get("/admin/", days=30).text
    shown = re.search(r'id="kpi-satisfaction">.*?class="value">([^<]*)<', page, re.S).group(1)
    assert shown == "60.0%"


def test_charts_are_inline_svg(app_url, seeded):
    page = logged_in(app_url).get("/admin/", days=30).text
    for chart in ("chart-daily", "chart-category", "chart-grid"):
        assert f'<svg id="{chart}"' in page
    assert "<script" not in page and "http://" not in page.split("</head>")[0].replace("http://www.w3", "")
    bars = re.search(r'<svg id="chart-category".*?</svg>', page, re.S).group(0)
    assert "环境卫生" in bars


def test_overdue_cases_are_listed(app_url, db, seeded):
    page = logged_in(app_url).get("/admin/").text
    table = re.search(r'id="overdue-cases">(.*?)</table>', page, re.S).group(1)
    assert table.count('class="overdue"') == int(_expected(db, seeded)["overdue"]) >= 1

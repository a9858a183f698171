"""`gridbot qr`: one code per building of a community, each holding the kf contact link with the
building's unit code as scene_param; one PDF page per building."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from bot.qr.links import building_url
from bot.qr.render import png
from demo.fake_wecom import create_fake_wecom
from models import Area, AreaLevel, Grid, KfAccount, Unit
from tests.cli import run_cli
from tests.demo_db import demo_factory  # noqa: F401  (fixture)
from tests.servers import serve_in_thread


def test_every_building_of_a_community_gets_a_code_of_its_own(demo_factory, database_url, tmp_path):
    with demo_factory() as session:
        community = session.scalars(select(Area).where(Area.level == AreaLevel.COMMUNITY).order_by(Area.code)).first()
        units = list(session.scalars(select(Unit.code).join(Grid).where(Grid.area_id == community.id)
                                     .order_by(Unit.code)))
    with serve_in_thread(create_fake_wecom()) as fake:
        result = run_cli(["qr", community.code, "--out", str(tmp_path)], database_url,
                         GRIDBOT_WECOM_API_BASE=fake)
    assert result.exit_code == 0, result.output
    with demo_factory() as session:
        contact = session.scalars(select(KfAccount.contact_url)).one()
    for code in units:  # each PNG encodes exactly the contact link + that building's code
        url = building_url(contact, code)
        assert parse_qs(urlsplit(url).query)["scene_param"] == [code]
        assert (tmp_path / f"{code}.png").read_bytes() == png(url)
    document = (tmp_path / f"{community.code}.pdf").read_bytes()
    assert document.startswith(b"%PDF-") and re.search(rb"/Count (\d+)", document).group(1) == str(len(units)).encode()


def test_an_unknown_community_is_one_clear_line(demo_factory, database_url, tmp_path):
    with serve_in_thread(create_fake_wecom()) as fake:
        result = run_cli(["qr", "no-such-community", "--out", str(tmp_path)], database_url,
                         GRIDBOT_WECOM_API_BASE=fake)
    assert result.exit_code == 1 and "no community with code no-such-community" in result.output

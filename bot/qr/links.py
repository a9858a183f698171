"""Which building gets which link: one kf/add_contact_way link per account (stored), plus the unit's code.

WeCom's contact link carries `scene`; the corp appends `scene_param` (URL-encoded), which comes back in
the resident's `enter_session` event: so one link per account serves every building.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from bot.wecom.api import WeComClient
from models import Area, Grid, KfAccount, Unit

SCENE = "building"


@dataclass(frozen=True)
class BuildingCode:
    unit_code: str
    label: str  # estate and building, as printed under the code
    url: str


def contact_url(session: Session, client: WeComClient, open_kfid: str) -> str:
    """The account's contact link, asked of WeCom once and stored."""
    account = session.get(KfAccount, open_kfid)
    if account is None:
        account = KfAccount(open_kfid=open_kfid)
        session.add(account)
    if not account.contact_url:
        account.contact_url = client.kf_contact_url(open_kfid, SCENE)
    return account.contact_url


def building_url(base: str, unit_code: str) -> str:
    """The link a building's QR code holds."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}scene_param={quote(unit_code, safe='')}"


def community_codes(session: Session, base: str, community: str) -> tuple[str, list[BuildingCode]]:
    """(community name, one code per unit of its grids, in code order); LookupError for an unknown code."""
    area = session.scalars(select(Area).where(Area.code == community)).first()
    if area is None:
        raise LookupError(community)
    units = session.scalars(select(Unit).join(Grid).where(Grid.area_id == area.id)
                            .options(joinedload(Unit.grid)).order_by(Unit.code)).all()
    return area.name, [BuildingCode(unit.code, unit.address, building_url(base, unit.code)) for unit in units]

"""The admin console under `/admin/`: server-rendered pages, one router per area.

Every route needs a login (except the login page and the stylesheet); every form posts
the session's CSRF token, checked once here for the whole console. One module per area; what every
page uses is in `common/`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from bot.admin import (
    apikeys,
    auth,
    broadcasts,
    cases,
    corrections,
    dashboard,
    departments,
    grid_map,
    qr,
    registry,
    rule_editor,
    rules,
    shop,
)
from bot.admin.common.deps import csrf_protect, install_error_pages
from handlers.texts import TEMPLATES_DIR

VENDOR_DIR = TEMPLATES_DIR.parent / "static" / "vendor"  # third-party browser code, vendored (no CDN)
# Bodies (bot/guards.py): uploads up to GRIDBOT_ADMIN_UPLOAD_BYTES, every other console form up to FORM_BYTES.
UPLOAD_PATHS = frozenset({"/admin/registry/import", "/admin/rules/import", "/admin/rules/whatif"})
FORM_BYTES = 256 * 1024

router = APIRouter(prefix="/admin", dependencies=[Depends(csrf_protect)], include_in_schema=False)
for area in (auth, dashboard, grid_map, cases, rules, rule_editor, corrections, registry, departments, shop,
             broadcasts, apikeys, qr):
    router.include_router(area.router)


@router.get("/static/admin.css")
def stylesheet() -> FileResponse:
    return FileResponse(TEMPLATES_DIR / "admin" / "admin.css", media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})


def install(app: FastAPI) -> None:
    """Mount the console on `app`."""
    app.include_router(router)
    app.mount("/admin/static/vendor", StaticFiles(directory=VENDOR_DIR), name="admin-vendor")
    install_error_pages(app)

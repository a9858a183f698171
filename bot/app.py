"""The FastAPI application: routers for the callback, Open311, health, and (in demo mode) the chat simulator."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from bot import admin, health, metrics, open311
from bot.guards import AdminBodyLimit, SecurityHeaders
from bot.jobs import BackgroundJobs
from bot.logging_setup import configure_from_settings
from bot.media import StoreError, store_unavailable
from bot.progress import routes as progress
from bot.safety import require_safe
from bot.state import AppState
from bot.wecom import aibot, callback
from config.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """A gridbot app for `settings` (default: the environment's)."""
    settings = settings or get_settings()
    require_safe(settings)
    configure_from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state = AppState.build(settings)
        state.warm()
        app.state.gridbot = state
        jobs = BackgroundJobs(state)
        state.intake.on_reply_queued = jobs.wake_outbox
        state.intake.start()
        state.kf.start()
        if settings.run_background_jobs:
            jobs.start()
        try:
            yield
        finally:
            jobs.stop()
            state.close()

    app = FastAPI(title="gridbot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(callback.router)
    app.router.routes.append(callback.post_route)
    app.include_router(aibot.router)
    app.include_router(health.router)
    app.include_router(progress.router)
    app.include_router(metrics.router)
    app.include_router(open311.router)
    app.add_exception_handler(StoreError, store_unavailable)
    app.add_middleware(metrics.LatencyMiddleware)
    app.add_middleware(AdminBodyLimit, form=admin.FORM_BYTES, upload=settings.admin_upload_bytes,
                       upload_paths=admin.UPLOAD_PATHS)
    app.add_middleware(SecurityHeaders)
    admin.install(app)
    if settings.demo:
        from demo import simulator  # demo-only code, never imported by a production app

        app.include_router(simulator.router)
    return app

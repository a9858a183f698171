"""`AppState`: what one app process holds (settings, database, crypto, services)."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from datetime import timezone

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from threadpoolctl import threadpool_limits

from bot.db_runner import DbRunner
from bot.intake import Intake
from bot.media import MediaStore, store_from_settings
from bot.progress.links import attach_links
from bot.wecom.api import WeComClient
from bot.wecom.crypto import CallbackCrypto
from bot.wecom.kf import KfPuller
from bot.wecom.kf_messages import inbound_from_kf, is_kf_payload
from bot.wecom.parsing import inbound_from_fields
from config.settings import Settings
from handlers import open311
from handlers.chat.inbound import Inbound
from handlers.console.rulesets import PublishedRules
from handlers.services import Services
from models.db import WalCheckpointer, make_engine, make_session_factory

log = logging.getLogger("gridbot.state")


def rebuild_inbound(payload: dict) -> Inbound:
    """A stored message's payload as its `Inbound`: an Open311 filing's own values, a kf item, else a
    callback's fields."""
    if payload.get("channel") == open311.CHANNEL:
        return open311.inbound_from_payload(payload)
    if is_kf_payload(payload):
        inbound = inbound_from_kf(payload)
        if inbound is not None:
            return inbound
    return inbound_from_fields(payload)


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    crypto: CallbackCrypto  # the self-built app's callback
    bot_crypto: CallbackCrypto | None  # the 智能机器人 callback (empty receive id); None: not configured
    services: Services
    runner: DbRunner  # blocking database work of the console and the AI bot
    intake: Intake  # the app callback's messages: accepted, then processed
    checkpointer: WalCheckpointer | None  # SQLite only
    intake_engine: Engine  # SQLite: a second engine whose connections never wait for the lock
    wecom: WeComClient  # the app's API client for requests made in the app process (kf pulls, QR links)
    kf: KfPuller  # 微信客服: pulls the messages a kf_msg_or_event announces
    media: MediaStore
    rules: PublishedRules  # the rule set in force (published in the console, else the config dir's), every process

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        engine = make_engine(settings.database_url, background_checkpoints=settings.is_sqlite)
        factory = attach_links(make_session_factory(engine), settings)
        # SQLite: the intake's group commits run on the event loop, which must never wait for another
        # writer's lock; their sessions fail at once instead, and the intake tries again 1 ms later.
        intake_engine = (make_engine(settings.database_url, background_checkpoints=True, busy_timeout=0)
                         if settings.is_sqlite else engine)
        rules = PublishedRules(settings.database_url, settings.config_dir)
        services = Services(config_dir=settings.config_dir, rate_limit=settings.user_rate_limit,
                            classifier_source=rules)
        intake = Intake(factory, services, rebuild_inbound, accept_factory=make_session_factory(intake_engine),
                        single_writer=settings.is_sqlite)
        wecom = WeComClient.from_settings(settings)
        return cls(
            settings=settings,
            engine=engine,
            factory=factory,
            crypto=app_crypto(settings),
            bot_crypto=(CallbackCrypto(settings.wecom_bot_token, settings.wecom_bot_aes_key, "",
                                       max_age=settings.wecom_max_age) if settings.aibot_enabled else None),
            services=services,
            runner=DbRunner(1 if settings.is_sqlite else 8),
            intake=intake,
            intake_engine=intake_engine,
            checkpointer=WalCheckpointer(engine).start() if settings.is_sqlite else None,
            wecom=wecom,
            kf=KfPuller(factory, wecom, excluded=settings.kf_excluded,
                        on_recorded=intake.wake, clock=services.clock),
            media=store_from_settings(settings),
            rules=rules,
        )

    def warm(self) -> None:
        """Build now what the first message would otherwise wait for — the rule set in force (its model is
        trained: seconds) and the address index —, then keep everything built so far, which lives as long as
        the process, out of the garbage collector's sight (a full collection walked it for ~0.5 s). Every
        process that handles messages calls it before it starts: the app and `gridbot worker` alike."""
        try:
            self.rules()
            with self.factory() as session:
                self.services.addresses.get(session)
        except Exception:  # e.g. the database is not up yet: the process starts anyway
            log.exception("rules or address index not built at start-up; the first message tries again")
        # One BLAS thread: a message's model products are a few hundred rows by ~30 classes, where OpenBLAS's
        # worker threads gain nothing and then spin on the other core (~0.5 % of a message's instructions),
        # the core the database or another handling process would use.
        threadpool_limits(1, user_api="blas")
        gc.collect()
        gc.freeze()

    def close(self) -> None:
        self.kf.stop()
        self.wecom.close()
        self.intake.stop()
        self.runner.shutdown()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.rules.close()
        self.intake_engine.dispose()
        self.engine.dispose()


def app_crypto(settings: Settings) -> CallbackCrypto:
    """The app callback's crypto; during a key rotation it also opens callbacks sealed with the previous
    Token/key until GRIDBOT_WECOM_PREVIOUS_UNTIL."""
    previous, until = None, 0.0
    if settings.wecom_previous_until is not None and (settings.wecom_previous_token or settings.wecom_previous_aes_key):
        moment = settings.wecom_previous_until
        until = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
        previous = CallbackCrypto(settings.wecom_previous_token or settings.wecom_token,
                                  settings.wecom_previous_aes_key or settings.wecom_aes_key, settings.wecom_corp_id,
                                  max_age=settings.wecom_max_age)
    return CallbackCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id,
                          max_age=settings.wecom_max_age, previous=previous, previous_until=until)


async def get_state(request: Request) -> AppState:
    """FastAPI dependency: the process's AppState (async: a plain def would cost a thread hop per request)."""
    return request.app.state.gridbot

"""bot/admin/common/throttle.py: failed logins per client, and the few password-check slots."""

from __future__ import annotations

import threading

import pytest

from bot.admin.common.throttle import Busy, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_waits_after_its_limit_of_failures_until_the_oldest_expires():
    clock = Clock()
    throttle = LoginThrottle(limit=3, window=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("10.0.0.1") == pytest.approx(57)
    assert throttle.retry_after("10.0.0.2") == 0  # another client is not affected
    clock.now += 57
    assert throttle.retry_after("10.0.0.1") == 0


def test_a_success_clears_the_clients_failures():
    throttle = LoginThrottle(limit=2, window=60, clock=Clock())
    throttle.failed("c")
    throttle.succeeded("c")
    throttle.failed("c")
    assert throttle.retry_after("c") == 0


def test_password_checks_beyond_the_slots_wait_then_give_up():
    throttle = LoginThrottle(concurrent=1)
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with throttle.checking():
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    with pytest.raises(Busy), throttle.checking(wait=0.05):
        pass
    release.set()
    holder.join()
    with throttle.checking(wait=0.05):
        pass

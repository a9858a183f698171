"""During a flood the processor still handles messages, in short batches, and leaves the intake
(1 - FLOOD_SHARE) of the time; outside a flood, or while a request waits for its reply, it never waits."""

from __future__ import annotations

import pytest

from bot.intake import FLOOD_BUDGET, FLOOD_SHARE, FloodPacing


def test_in_a_flood_a_short_batch_runs_then_the_processor_rests_so_the_intake_keeps_its_share():
    pacing = FloodPacing(budget=0.04)
    assert pacing.batch_budget(flood=True) == FLOOD_BUDGET < 0.04
    pacing.ran(started=10.0, ended=10.012, flood=True)
    rest = pacing.pause(now=10.012, flood=True, waiting=False)
    assert rest == pytest.approx(0.012 * (1 / FLOOD_SHARE - 1))
    assert 0.012 / (0.012 + rest) == pytest.approx(FLOOD_SHARE)
    assert pacing.pause(now=10.012 + rest / 2, flood=True, waiting=False) == pytest.approx(rest / 2)
    assert pacing.pause(now=10.012 + rest, flood=True, waiting=False) == 0.0


def test_a_waiting_request_or_the_end_of_the_flood_lets_the_next_batch_start_at_once():
    pacing = FloodPacing(budget=0.01)
    pacing.ran(started=5.0, ended=5.01, flood=True)
    assert pacing.pause(now=5.01, flood=True, waiting=True) == 0.0  # someone waits for a passive reply
    assert pacing.pause(now=5.01, flood=False, waiting=False) == 0.0  # the flood ebbed
    pacing.ran(started=5.01, ended=5.02, flood=False)
    assert pacing.pause(now=5.02, flood=True, waiting=False) == 0.0  # no rest owed for a batch outside a flood
    assert pacing.batch_budget(flood=False) == 0.01

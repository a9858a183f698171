"""The case state machine: every legal transition, in one table."""

from __future__ import annotations

from dataclasses import dataclass

from models.cases import CaseState as S

_WORKABLE = frozenset({S.PENDING, S.IN_PROGRESS, S.ESCALATED})
_OPEN = frozenset({S.AWAITING_PLACE, S.PENDING, S.IN_PROGRESS, S.SUSPENDED, S.ESCALATED})


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: the state does not change


TRANSITIONS: dict[str, Transition] = {
    "place": Transition(frozenset({S.AWAITING_PLACE}), S.PENDING),
    "move_place": Transition(_WORKABLE | {S.SUSPENDED}, None),  # the resident corrects the place (handlers/cases/place_moves.py)
    "take": Transition(frozenset({S.PENDING, S.ESCALATED}), S.IN_PROGRESS),
    "plan": Transition(frozenset({S.IN_PROGRESS, S.ESCALATED}), None),
    "progress": Transition(frozenset({S.IN_PROGRESS, S.ESCALATED, S.SUSPENDED}), None),
    "close": Transition(frozenset({S.IN_PROGRESS, S.ESCALATED}), S.CLOSED),
    "reassign": Transition(_WORKABLE | {S.SUSPENDED}, S.PENDING),
    "escalate": Transition(_WORKABLE | {S.SUSPENDED}, S.ESCALATED),
    "overdue": Transition(_WORKABLE, S.ESCALATED),
    "return": Transition(_WORKABLE | {S.SUSPENDED, S.AWAITING_PLACE}, S.TRANSFERRED),
    "recategorize": Transition(_OPEN, None),
    "suspend": Transition(frozenset({S.IN_PROGRESS, S.ESCALATED}), S.SUSPENDED),  # a taken case only
    "resume": Transition(frozenset({S.SUSPENDED}), S.IN_PROGRESS),
    "merge": Transition(_OPEN, S.MERGED),
    "unlink": Transition(frozenset({S.MERGED}), S.PENDING),  # not a duplicate after all
    "withdraw": Transition(_OPEN | {S.MERGED}, S.WITHDRAWN),  # a merged report: while the case it follows is open
    "rate": Transition(frozenset({S.CLOSED, S.ARCHIVED}), S.ARCHIVED),  # archived: a late rating of an unrated case
    "reopen": Transition(frozenset({S.CLOSED}), S.IN_PROGRESS),
    "archive": Transition(frozenset({S.CLOSED}), S.ARCHIVED),
    "attach": Transition(_OPEN | {S.CLOSED}, None),
    "follow_up": Transition(_OPEN, None),  # the resident asks after the case or chases it (催一下)
    "note": Transition(_OPEN | {S.CLOSED, S.ARCHIVED, S.TRANSFERRED}, None),
    "remind": Transition(_OPEN, None),
    # WeCom reported a 微信客服 notice about the case undelivered (msg_send_fail): a note, in any state.
    "notice_undelivered": Transition(frozenset(S), None),
    # 吹哨报到 (handlers/departments/whistle.py): a taken case calls a department; its steps keep the state.
    "whistle": Transition(frozenset({S.IN_PROGRESS, S.ESCALATED}), None),
    "report_in": Transition(_OPEN, None),
    "whistle_return": Transition(_OPEN, None),
    "whistle_overdue": Transition(_OPEN, None),
    "supervise": Transition(_OPEN, None),  # 督办: a higher level presses the assignee
    "supplement": Transition(frozenset(S), None),  # 补充: words added to the latest step, in any state
    # one of the cases a resident's message reporting several matters became (handlers/conversation/matters.py)
    "split": Transition(frozenset(S), None),
    # 回头件: opened as the same problem as a case closed not long ago (handlers/cases/duplicates.py likely_repeat)
    "repeat": Transition(_OPEN, None),
    "close_false": Transition(_WORKABLE | {S.SUSPENDED}, S.ARCHIVED),  # 不实: found false, nothing to rate
    # still without a place after lifecycle.yaml's place_wait: handed to the street (handlers/cases/unplaced.py)
    "hand_over_unplaced": Transition(frozenset({S.AWAITING_PLACE}), None),
    "route_department": Transition(frozenset({S.AWAITING_PLACE, S.PENDING}), S.IN_PROGRESS),  # straight to a department
}


class IllegalTransition(Exception):
    """`action` is not allowed while the case is in `state`."""

    def __init__(self, action: str, state: str) -> None:
        super().__init__(f"{action} not allowed in state {state}")
        self.action = action
        self.state = state


def next_state(state: str, action: str) -> str:
    """The state after `action`, or IllegalTransition."""
    transition = TRANSITIONS.get(action)
    if transition is None or state not in transition.sources:
        raise IllegalTransition(action, state)
    return transition.target or state


def allowed(state: str, action: str) -> bool:
    return action in TRANSITIONS and state in TRANSITIONS[action].sources

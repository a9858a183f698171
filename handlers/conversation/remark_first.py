"""Words that open with a remark before a matter of their own: a rating (不满意，另外…) rated and the matter
reported apart, thanks (修好了谢谢，还有个事，…) passed over to the report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.chat import pending
from handlers.chat.case_numbers import parse_case_number
from handlers.chat.commands import Command, is_greeting, is_opener, is_thanks, parse_command
from handlers.conversation import follow_ups, resident_requests
from handlers.conversation.matters import a_matter_apart, later_clauses, matter_rules, report_after
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseState, Conversation, Resident


def rated_first(session: Session, services: Services, resident: Resident, convo: Conversation | None, text: str,
                command: Command | None, now: datetime) -> tuple[str | None, str | None] | None:
    """A rating whose words go on to a matter of its own (不满意，另外5栋门口的垃圾也没人收; 满意，不过楼下路灯也坏了; 修好了
    谢谢，还有个事，5栋…): the case rated, its reason the words before the matter (不满意 reopens it even with none);
    the reply so far and the matter's words, for the caller to report as a case of its own. Words saying the case is
    still wrong (灯还是不亮，另外…), asked to rate or not, are kept on it, its rating asked again; a rating going on to
    say more is coming (满意，还有个事…) is answered “请说”, no matter to report (None). None for other words (only
    words answering “请您评价”, a rating command (`command`, the one `text` opens with), or words saying something is
    still wrong, are looked into)."""
    asked = convo.data.get("case_id") if convo is not None and convo.state == pending.RATE else None
    if asked is None and (command is None or command.name not in resident_requests.RATINGS) \
            and not follow_ups.says_still_wrong(text):
        return None
    case = resident_requests.case_to_rate(session, services, resident, asked, now)
    if case is None:
        return None
    reason_asked = asked is not None and convo.data.get("rating") == "unsatisfied"
    rules = matter_rules(services.config_dir)
    for before, said, clause in later_clauses(text, rules):
        head, tail = text[:before].strip(), text[said:]
        rating = _rating_before(services, case, head, asked is not None, reason_asked)
        if rating is None:
            continue
        if a_matter_apart(services.classifier(), tail, clause, case.category, case.text, rules,
                          done=rating[0] not in (None, "unsatisfied")):
            return _rated(session, services, resident, case, rating, now), tail
        if rating[0] is not None and is_opener(tail):
            return f"{_rated(session, services, resident, case, rating, now)}\n{render('replies/go_ahead')}", None
    return None


ASKING_COMMANDS = frozenset({"progress", "points"})  # commands that only tell the resident something


def command_first(services: Services, text: str, command: Command | None) -> tuple[str, str] | None:
    """A command asking for something (进度, 进度 3, 积分; `command`, the one `text` opens with) whose words go on to a
    matter of their own (进度，另外楼下路灯坏了): the command's words and the matter's, each to be handled as a message
    of its own; None for other words."""
    if command is None or command.name not in ASKING_COMMANDS or not command.args:
        return None
    tail = report_after(services.classifier(), text, matter_rules(services.config_dir))
    head = text[:len(text) - len(tail)].strip() if tail else ""
    asked = parse_command(head, "resident")
    if asked is None or asked.name != command.name or asked.args and parse_case_number(asked.args) is None:
        return None
    return head, tail


def past_a_remark(services: Services, text: str, command: Command | None) -> str:
    """Words that open with a remark before a report (修好了谢谢，还有个事，湖景苑3栋楼道的灯坏了: the thanks first, and
    the whole read as thanks; or thanks before two matters, the whole read as one of them): the words from the report
    on, handled as they are; else `text`. A command's words (`command`, the one `text` opens with) stay whole, and so
    does a report whose first words are more than a remark (湖景苑3栋门口，垃圾桶满了: its place)."""
    if command is not None:
        return text
    rules = matter_rules(services.config_dir)
    clauses = later_clauses(text, rules)
    if not clauses or not any(_may_be_a_remark(text[:said]) for _, said, _ in clauses) and \
            services.classifier().classify(text).outcome != "none":
        return text  # no words before a later clause may be a remark, and the whole reads as a report: no clause read
    report = report_after(services.classifier(), text, rules)
    if report is None:
        return text
    head = text[:len(text) - len(report)]
    remark = is_thanks(head) or is_greeting(head) or is_opener(head) or follow_ups.closing_remark(services, head)
    return report if remark or services.classifier().classify(text).outcome == "none" else text


def _may_be_a_remark(words: str) -> bool:
    """Whether `words` may be the remark `past_a_remark` passes over, by their words alone (the classifier not
    asked): thanks, a greeting (or no words: stickers, emoji), an opener, or thanks or sorted words."""
    return is_thanks(words) or is_greeting(words) or is_opener(words) or follow_ups.closing_words(words)


def _rating_before(services: Services, case: Case, head: str, asked: bool, reason_asked: bool) -> \
        tuple[str | None, str] | None:
    """The rating and reason the words before another matter give (`resident_requests.rating_of`; the reason asked
    for: the words are it); (None, words) for words saying the closed case is still wrong, no rating (灯还是不亮);
    None for other words."""
    if reason_asked:
        return ("unsatisfied", head) if head and parse_command(head, "resident") is None else None
    rating = resident_requests.rating_of(services, head, asked=asked)
    if rating is not None:
        return rating
    return (None, head) if case.state == CaseState.CLOSED and follow_ups.still_wrong(services, case, head) else None


def _rated(session: Session, services: Services, resident: Resident, case: Case, rating: tuple[str | None, str],
           now: datetime) -> str | None:
    """The case rated as `rating` says (不满意 reopens it even with no reason: the words went on to another matter),
    or the words saying it is still wrong kept on it (None: it no longer waits for them)."""
    if rating[0] is None:
        return follow_ups.on_the_rated_case(session, services, resident, case.id, rating[1], now)
    return resident_requests.rate(session, resident, rating[0], case.id, rating[1], now, ask_reason=False)

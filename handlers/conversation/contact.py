"""A phone number a resident sends alone (13812345678, 电话13812345678): their contact, kept on the case it helps.

Without this it was no report and got the help text, and the number was lost; the case's worker, who may need to
call (a notice undelivered, a door to be opened), reads it in their private notice; group chats only ever show it
masked (the card's reporter line, `mask_phone`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.case_notices import tell_worker
from handlers.chat.commands import without_words, word_characters
from handlers.conversation.case_reference import latest_in_play
from handlers.privacy.masking import phone_numbers
from handlers.texts import render
from models import Resident


def phone_alone(text: str) -> str | None:
    """The one mobile number `text` is, alone or with words that introduce it (commands.yaml `phone_words`)."""
    numbers = phone_numbers(text)
    if len(numbers) != 1:
        return None
    rest = word_characters(without_words(text, "phone_words"))
    return numbers[0] if rest in (numbers[0], f"86{numbers[0]}") else None


def keep_contact(session: Session, resident: Resident, phone: str, now: datetime) -> str:
    """`phone` becomes the resident's contact and is added to their latest case in play — the neighbour's case their
    report follows, when it was linked to one — (told to its worker); the reply says so, the number masked."""
    resident.phone = phone
    case = latest_in_play(session, resident.userid)  # their latest report, or the neighbour's case it follows
    if case is not None:
        tell_worker(session, case, "attach", resident.userid, now, render("notices/contact_note", phone=phone))
    return render("replies/contact_kept", phone=phone, case=case)

"""Parsing chat words into (command, args): one parser for residents and workers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import yaml

from config.settings import SHIPPED_CONFIG_DIR
from handlers.chat.scripts import nfkc, to_simplified

_PUNCT = re.compile(r"[\s,，:：;；。.!！、~]+")  # after NFKC: ～ is ~
_NOT_WORDS = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Command:
    name: str
    args: str  # the rest of the text, folded (full-width → half-width) and trimmed: what is parsed
    written: str = ""  # the same rest as the sender wrote it (when folding kept every position)

    def as_written(self, tail: str) -> str:
        """`tail`, a trailing part of `args` (a note, a reason), in the sender's own characters (“，” stays “，”)."""
        if tail and len(self.written) == len(self.args) and self.args.endswith(tail):
            return self.written[len(self.written) - len(tail):]
        return tail


@lru_cache(maxsize=256)
def fold(text: str) -> str:
    """Full-width → half-width (NFKC), traditional → simplified, trimmed: what both audiences' words are matched
    on (“進度　１２” is “进度 12”). Kept for the last texts: a message is folded by each test it is put to (a
    command? thanks? the 1 that binds?)."""
    return to_simplified(nfkc(text or "").strip())


@lru_cache(maxsize=1)
def _vocabulary() -> dict:
    return yaml.safe_load((SHIPPED_CONFIG_DIR / "commands.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def _words(audience: str) -> list[tuple[str, str]]:
    pairs = [(word.lower(), name) for name, words in _vocabulary()[audience].items() for word in words]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


@lru_cache(maxsize=4)
def _words_by_length(audience: str) -> tuple[tuple[int, dict[str, str]], ...]:
    """`_words(audience)` as (length, {word: command}), longest first: a text's candidate words are its first
    few characters, looked up once per length (every message is asked whether it is a command)."""
    lengths: dict[int, dict[str, str]] = {}
    for word, name in _words(audience):
        lengths.setdefault(len(word), {}).setdefault(word, name)
    return tuple(lengths.items())


def parse_command(text: str, audience: str) -> Command | None:
    """The command `text` starts with, for `audience` ("resident", "worker" or "liaison").

    A word counts only at a boundary ("进度 12", "进度") so that a report such as
    "进度太慢了" stays a report; a few commands take free text right after the word.
    """
    folded = fold(text)
    lowered = folded.lower()
    for length, words in _words_by_length(audience):
        name = words.get(lowered[:length])
        if name is None:
            continue
        rest = folded[length:]
        if _at_boundary(rest) or name in _FREE_TEXT_AFTER or name in _ASKED_WITH_A_MARK and rest[:1] == "?":
            args = _LEADING.sub("", rest)
            written = _as_written(text, folded)
            return Command(name, args.strip(), written[len(folded) - len(args):].strip() if written else "")
    return None


def after_command_word(text: str, audience: str, name: str) -> str | None:
    """The words after a word of command `name` that `text` opens with, even glued to it (撤销垃圾站那个 →
    垃圾站那个, which `parse_command` leaves a report); None when it opens with none."""
    lowered = fold(text).lower()
    return next((lowered[len(word):] for word, command in _words(audience)
                 if command == name and lowered.startswith(word)), None)


def after_acknowledgement(text: str) -> str | None:
    """What follows a greeting or acknowledgement `text` opens with ("收到，接单 12" → "接单 12"), in the
    sender's own characters where folding kept every position; None when it opens with none."""
    folded = fold(text)
    lowered = folded.lower()
    for word in sorted(_lowered("greetings"), key=len, reverse=True):
        if lowered.startswith(word) and (gap := _PUNCT.match(folded, len(word))) and gap.end() < len(folded):
            return (_as_written(text, folded) or folded)[gap.end():]
    return None


def word_characters(text: str) -> str:
    """`text` with its letters, digits and characters only: no punctuation, spaces or symbols ("1、" → "1",
    "其他（由网格员判断）" → "其他由网格员判断")."""
    return _NOT_WORDS.sub("", text)


def _at_boundary(rest: str) -> bool:
    """Whether a command word ends where `rest` (what follows it) begins: nothing, punctuation or a case number."""
    return not rest or bool(_PUNCT.match(rest)) or rest[0].isdigit() or rest[:2].upper() == "GB"


def _as_written(text: str, folded: str) -> str:
    """`text` trimmed as `fold` trims it, when each of its characters folds to exactly one (positions then
    match `folded`'s); else ""."""
    kept = (text or "").strip()
    same_places = len(kept) == len(folded) and all(len(unicodedata.normalize("NFKC", ch)) == 1 for ch in kept)
    return kept if same_places else ""


_FREE_TEXT_AFTER = {"patrol", "unsatisfied", "bind", "visit", "redeem", "add"}
# WeChat sends stickers and emoji as codes like [微笑] or as emoji characters: not a report.
_STICKERS = re.compile(r"\[[^\[\]\s]{1,6}\]")
_SYMBOL_CATEGORIES = {"So", "Sk", "Cf", "Mn"}
_PLAIN = re.compile(r"[\u4e00-\u9fffa-z0-9]*")  # characters of none of those categories (CJK ideographs are Lo)
_ASKED_WITH_A_MARK = {"progress", "points", "help"}  # commands that ask: 进度？还有… still asks for the progress
_LEADING = re.compile(r"^[\s,，:：;；。、?]+")


@lru_cache(maxsize=64)
def _bare(text: str) -> str:
    """`text` without punctuation, stickers and emoji, lower-case: what short words are compared on (kept
    for the last texts: a message is asked whether it is thanks, a greeting, then chit-chat)."""
    folded = _PUNCT.sub("", _STICKERS.sub("", fold(text))).lower()
    if _PLAIN.fullmatch(folded):  # Chinese, latin letters and digits only, as most messages: no symbol to drop
        return folded
    return "".join(ch for ch in folded if unicodedata.category(ch) not in _SYMBOL_CATEGORIES)


def is_greeting(text: str) -> bool:
    """A short hello/thanks that should get the help text, not a case."""
    return _is_greeting_bare(_bare(text))


def _is_greeting_bare(bare: str) -> bool:
    return not bare or bare in _lowered("greetings")


@lru_cache(maxsize=8)
def _lowered(kind: str) -> frozenset[str]:
    """The vocabulary's words of `kind` (greetings, thanks), lower-case."""
    return frozenset(word.lower() for word in _vocabulary()[kind])


def is_chitchat(text: str) -> bool:
    """Small talk that describes no problem ("今天天气不错", "测试一下"): a short text holding one of the
    chit-chat phrases, or a greeting. Only asked when the classifier is not sure."""
    bare = _bare(text)
    if _is_greeting_bare(bare):
        return True
    return len(bare) <= CHITCHAT_MAX_CHARS and any(word.lower() in bare for word in _vocabulary()["chitchat"])


CHITCHAT_MAX_CHARS = 10


BARE_NUMBER_DIGITS = 4  # a number this short alone is a choice or a case number, not a phone number or a report


def is_bare_number(text: str) -> bool:
    """Whether `text` is a short number alone (2, ２、, 12): an answer to a question of numbered choices, never words
    about a case."""
    bare = word_characters(fold(text))
    return bare.isdigit() and len(bare) <= BARE_NUMBER_DIGITS


def is_yes(text: str) -> bool:
    """Yes to a question that asks “回复 1 确认”: 1, 是, 对的, 没错！, 好的 …, said again (对对对, 是的是的👍) or with an
    ending (对啊, 係呀)."""
    bare = _bare(text)
    return bare in _lowered("confirm") or _yes_words().fullmatch(bare) is not None


def is_every_place(text: str) -> bool:
    """To 请问地点是A还是B？: the matter is at each of them (两个都是, 两边都有啊, 都系)."""
    return _said_alone(text, "every_place")


def is_same_place(text: str) -> bool:
    """To the place question of a report asked after another was placed: it is where that one is (一样, 也是这里啊)."""
    return _said_alone(text, "same_place")


def is_last_place(text: str) -> bool:
    """To any place question: it is where the resident's last placed case is (还是上次那个地方, 跟上次一样啊)."""
    return _said_alone(text, "last_place")


def _said_alone(text: str, kind: str) -> bool:
    """Whether `text` is one of the words of `kind` and nothing else, perhaps with an ending of confirm_endings."""
    bare, words = _bare(text), _lowered(kind)
    return bare in words or bare[:-1] in words and bare[-1:] in _lowered("confirm_endings")


@lru_cache(maxsize=1)
def _yes_words() -> re.Pattern[str]:
    """Yes words (not 1: 11 is no yes), once or more, each perhaps with an ending (是啊是啊)."""
    words = sorted((w for w in _lowered("confirm") if not w.isdigit()), key=len, reverse=True)
    endings = "".join(map(re.escape, _lowered("confirm_endings")))
    return re.compile(f"(?:(?:{'|'.join(map(re.escape, words))})[{endings}]?)+")


def is_thanks(text: str) -> bool:
    """A thank-you (谢谢, 辛苦了, or stickers alone that say it: 👍, 🙏🏻, [抱拳]): answered with one line."""
    bare = _bare(text)
    if bare:
        return bare in _lowered("thanks")
    return _only_stickers(text, "thanks_stickers")


def is_anger(text: str) -> bool:
    """Anger and nothing else (😡😡😡, [发怒]！): the resident is asked what happened, not given the help text."""
    return not _bare(text) and _only_stickers(text, "anger_stickers")


def asks_about_us(text: str) -> bool:
    """A short question whether gridbot is a machine or a person (你们是机器人吗？, 是真人吗, 你是谁)."""
    bare = _bare(text)
    return len(bare) <= CHITCHAT_MAX_CHARS and any(word.lower() in bare for word in _lowered("about_us"))


def _only_stickers(text: str, kind: str) -> bool:
    """Whether `text` is stickers of the vocabulary's `kind` and nothing else (parts of an emoji, spaces and
    punctuation aside: 🙏🙏！)."""
    rest = text
    for sticker in _vocabulary()[kind]:
        rest = rest.replace(sticker, "")
    return rest != text and all(ch.isspace() or unicodedata.category(ch) in _MODIFIERS
                                or unicodedata.category(ch).startswith("P") for ch in rest)


_MODIFIERS = {"Sk", "Mn", "Cf"}  # skin tones, variation selectors, joiners: parts of an emoji, not one of their own


_OPENER_FILLERS = re.compile(r"事情|事儿|情况|问题|[我你您们要想有个件事一下的了吧啊呢呀请问就是这那里点儿跟和给找]")


def is_opener(text: str) -> bool:
    """Words that only say the resident has something to report or ask (有个事想问一下, 你好，我想反映个问题): an opener
    word, perhaps a greeting, and nothing but fillers."""
    bare = _bare(text)
    if not any(word in bare for word in _lowered("opener")):
        return False
    for word in sorted(_lowered("opener") | _lowered("greetings"), key=len, reverse=True):
        bare = bare.replace(word, "")
    return not _OPENER_FILLERS.sub("", bare)


def clarifies(text: str) -> bool:
    """Whether `text` opens with words saying it tells more of what was just said (就是空调外机, 我说的是…)."""
    return _bare(text).startswith(tuple(_lowered("clarifying")))


ANNOUNCEMENT_MAX_CHARS = 30  # an announcement names its matter in a few words; a longer text is the report itself


def announces_a_matter(text: str) -> bool:
    """Words that name a matter only to say the details follow (我想反映一下我们小区物业乱收费的问题): an opener word
    and a topic ending (`topic_endings`), in a few words."""
    bare = _bare(text)
    return len(bare) <= ANNOUNCEMENT_MAX_CHARS and any(word in bare for word in _lowered("opener")) and \
        bare.endswith(tuple(_lowered("topic_endings")))


def is_never_mind(text: str) -> bool:
    """Words that only say the resident needs nothing (不用了, 算了算了, 好的不需要了，谢谢): never-mind words, perhaps
    with a greeting or thanks, and nothing else."""
    bare = _bare(text)
    rest = bare
    for word in _never_mind_fillers():
        rest = rest.replace(word, "")
    return not rest and any(word in bare for word in _lowered("never_mind"))


@lru_cache(maxsize=1)
def _never_mind_fillers() -> tuple[str, ...]:
    """The words a never-mind message may hold, longest first."""
    words = _lowered("never_mind") | _lowered("greetings") | _lowered("thanks")
    return tuple(sorted(words, key=len, reverse=True))


def holds_words(text: str, kind: str) -> bool:
    """Whether `text` holds a word of the vocabulary's `kind` (follow_up: 怎么样了, 催一下; still_not: 还没修;
    refer_back: 上次说的, 那个; wrong_grid: a 退回 reason saying the case is another grid's, 不是我的网格)."""
    return _any_of(kind).search(fold(text).lower()) is not None


@lru_cache(maxsize=16)
def _any_of(kind: str) -> re.Pattern[str]:
    """One search for any word of `kind` (`_lowered`): every message is asked about four kinds, 60-odd words."""
    words = sorted(_lowered(kind), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words)) if words else "(?!)")  # no words: nothing holds one


# What a resident asking to see the progress may write around the word (我想问下在哪里可以看进度, 點樣查進度, 我反映的事有冇进度).
_PROGRESS_FILLERS = re.compile(r"哪里|麻烦|哪儿|边度|怎么|怎样|如何|点样|可以|能不能|反映|投诉|事项|事情|问题"
                               r"|[我你您们要想有个一下的了吧啊呢呀吗嘛请问就是这那里点儿在喺去查看睇知道嘅冇没事帮给]")


def asks_for_progress(text: str) -> bool:
    """Words that only ask to see the progress (在哪里看进度？, 喺边度睇进度, 帮我查下进度, 我反映的事情怎么样了): a progress
    or follow-up word and nothing but words asking where or how, a greeting or thanks."""
    bare = _bare(text)
    return (holds_words(bare, "progress_asked") or holds_words(bare, "follow_up")) and not _PROGRESS_FILLERS.sub(
        "", word_characters(without_words(bare, "progress_asked", "follow_up", "greetings", "thanks")))


def says_only_near_here(text: str) -> bool:
    """Words that say only that it is near the resident or here (就在我家楼下啊, 门口这里), no place one can find."""
    bare = _bare(text)
    return bool(bare) and not word_characters(without_words(bare, "near_here", "near_here_fillers", "greetings"))


def spread_subject(text: str) -> str | None:
    """What words saying a matter has spread say spread (水 of 水都漫到一楼了; "" for 都流到路上了), folded: the
    words before the first word of `spreads`, `spread_fillers` left out; None for words saying no spread."""
    found = _any_of("spreads").search(fold(text).lower())
    return None if found is None else word_characters(without_words(found.string[:found.start()], "spread_fillers"))


def says_dont_know(text: str) -> bool:
    """Words that only say the resident cannot tell where (不知道, 我也不清楚是几期): a word of `dont_know`, nothing
    but `dont_know_fillers` or a greeting beside it."""
    bare = _bare(text)
    return holds_words(bare, "dont_know") and not word_characters(
        without_words(bare, "dont_know", "dont_know_fillers", "greetings"))


def estate_spot(text: str) -> str | None:
    """The spot of an estate as a whole that words say alone (东门; 就在大门口 → 大门口; 停车场那边 → 停车场): their longest
    word of `estate_spots`, nothing but words saying where beside it (no name, no building); None for other words."""
    bare = _bare(text)
    if word_characters(without_words(bare, "estate_spots", "near_here", "near_here_fillers", "greetings")):
        return None
    return next((word for word in _longest_first(("estate_spots",)) if word in bare), None)


def without_where(text: str) -> str:
    """`text` (folded) without the words of `near_here` (东门那边 阳光小区二期 → 阳光小区二期)."""
    return without_words(text, "near_here")


def says_only_where(text: str) -> bool:
    """Words that say where and nothing else (东门那边, 对面, 就在楼下啊): a word of `near_here`, no matter."""
    return holds_words(text, "near_here") and says_only_near_here(text)


def is_a_chase(text: str) -> bool:
    """Words that only ask after a case or chase it (催一下, 麻烦再催催, 那个事怎么样了？): follow-up words, perhaps with
    words pointing back at the case, urging, a greeting or thanks, and nothing saying what is wrong."""
    bare = _bare(text)
    return holds_words(bare, "follow_up") and not word_characters(
        without_words(bare, "follow_up", "refer_back", "urging", "greetings", "thanks"))


def without_follow_up_words(text: str) -> str:
    """`text` (folded) without the words that ask after a case or point back at one (上次说的那个…怎么样了):
    what is left names the matter (路灯)."""
    return without_words(text, "follow_up", "still_not", "no_longer_needed", "refer_back")


def without_words(text: str, *kinds: str) -> str:
    """`text` (folded) without the vocabulary's words of `kinds` (路灯的事谢谢你们 without thanks and refer_back: 路灯)."""
    folded = fold(text).lower()
    for word in _longest_first(kinds):
        if word in folded:
            folded = folded.replace(word, " ")
    return folded


@lru_cache(maxsize=16)
def _longest_first(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The vocabulary's words of `kinds`, lower-case, longest first (a longer word is taken out before a word in it)."""
    return tuple(sorted(set().union(*(_lowered(kind) for kind in kinds)), key=len, reverse=True))


@lru_cache(maxsize=1)
def _same_things() -> tuple[re.Pattern[str], dict[str, str]]:
    """Each word of a `same_things` group but the first, lower-case, and what it is written as: its group's first."""
    names = {word.lower(): group[0].lower() for group in _vocabulary()["same_things"] for word in group[1:]}
    return re.compile("|".join(map(re.escape, sorted(names, key=len, reverse=True))) or "(?!)"), names


def one_name(text: str) -> str:
    """`text` (folded, lower-case) with every thing the vocabulary's `same_things` names in several words named by the
    first of them (电梯按键 → 电梯按钮): two reports naming one thing alike are compared on what else they say."""
    pattern, names = _same_things()
    return pattern.sub(lambda match: names[match.group(0)], text)


RATING_MAX_CHARS = 12


def rating_in_words(text: str) -> str | None:
    """The rating (satisfied, basic, unsatisfied) a short answer to "请您评价" gives in the words people use
    (挺满意的, 还行吧, 不太满意, 👍); None for anything else, and for a longer text (a new report may hold 不满意)."""
    folded = fold(text).lower()
    if len(word_characters(folded)) > RATING_MAX_CHARS:
        return None
    return next((rating for rating, words in _vocabulary()["rating_words"].items()
                 if any(word.lower() in folded for word in words)), None)


def gives_a_reason(text: str) -> bool:
    """Whether an unsatisfied answer says why beside its rating word: 还没弄好，还在冒水 does, and so does a clause of
    its own after it (没修好，还是黑的); 还没弄好啊 does not (the rating words and fillers taken out, two word characters
    or more are left, or one in a clause apart)."""
    vocabulary = _vocabulary()
    words = [word.lower() for kind in vocabulary["rating_words"].values() for word in kind]
    left = []
    for clause in _PUNCT.split(fold(text).lower()):
        for word in sorted(words + vocabulary["rating_fillers"], key=len, reverse=True):
            clause = clause.replace(word, "")
        left.append(len(word_characters(clause)))
    return sum(left) >= 2 or len(left) > 1 and any(left)


def suggest(text: str, audience: str) -> str | None:
    """The command a mistyped text most likely meant, with its rest: `结单 3` → `接单 3`. A word of two
    or more characters with one character wrong or two swapped, at a boundary; None when none is close."""
    folded = fold(text)
    for word, _ in _words(audience):
        head, rest = folded[:len(word)].lower(), folded[len(word):]
        if len(word) < 2 or not _typo_of(head, word):
            continue
        if _at_boundary(rest):
            return f"{word}{rest}"
    return None


def _typo_of(head: str, word: str) -> bool:
    if len(head) != len(word) or head == word:
        return False
    diff = [i for i, (a, b) in enumerate(zip(head, word)) if a != b]
    swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and head[diff[0]] == word[diff[1]] \
        and head[diff[1]] == word[diff[0]]
    return len(diff) == 1 or swapped


def split_number(args: str) -> tuple[str, str]:
    """`"123 内容"` → ("123", "内容"); the first token is the case reference."""
    parts = args.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""

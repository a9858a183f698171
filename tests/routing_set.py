"""The labelled routing set: ways residents write a demo unit's address, each → its unit code.

`python -m tests.routing_set` rewrites tests/data/routing/generated.csv from the demo
district (config/demo/district.yaml); hand-written variants live beside it. The same
variant writers make the queries of benchmarks/bench_routing.py.
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Callable
from pathlib import Path

from opencc import OpenCC

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import DemoPlace, demo_places

ROUTING_DATA = Path(__file__).resolve().parent / "data" / "routing"
_CN = "零一二三四五六七八九"
_FULL_WIDTH = str.maketrans("0123456789ABCabc-", "０１２３４５６７８９ＡＢＣａｂｃ－")
_to_traditional = OpenCC("s2t").convert


def chinese(n: int) -> str:
    """3 → 三, 12 → 十二, 40 → 四十 (n < 100)."""
    tens, ones = divmod(n, 10)
    if not tens:
        return _CN[ones]
    return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[ones] if ones else "")


def _phase(place: DemoPlace, rng: random.Random) -> str:
    if not place.phase:
        return ""
    return rng.choice([f"{place.phase}期", f"{chinese(place.phase)}期", f"{place.phase}区", f"{chinese(place.phase)}区"])


def _building(b: str, rng: random.Random) -> str:
    if not b.isdigit():
        return rng.choice([f"{b}座", f"{b.lower()}座", f"{b}栋", f"{b}幢"])
    n = int(b)
    return rng.choice([f"{b}栋", f"{chinese(n)}栋", f"{b}号楼", f"{chinese(n)}号楼", f"{b}座", f"{b}幢",
                       f"{b}-{rng.randint(1, 3)}0{rng.randint(1, 4)}", f"{b}栋{rng.randint(1, 3)}单元"])


def _typo(text: str, rng: random.Random) -> str:
    """One slip residents make: a designator or a 小区/花园 misspelt, or a character left out."""
    for right, wrong in (("栋", "洞"), ("小区", "小去"), ("花园", "花圆"), ("号楼", "号搂"), ("座", "坐")):
        if right in text and rng.random() < 0.7:
            return text.replace(right, wrong, 1)
    return text


_HOMOPHONES = {"阳": "杨", "湾": "弯", "苑": "园", "庭": "亭", "园": "圆", "庄": "装", "景": "井", "桂": "贵",
               "华": "化", "湖": "胡", "翠": "脆", "锦": "金", "城": "成", "岭": "领", "居": "局", "村": "存"}


def _misspelt(name: str, rng: random.Random) -> str:
    """The estate's name with one character typed as a homophone (阳光 → 杨光), if it has one."""
    spots = [i for i, char in enumerate(name) if char in _HOMOPHONES]
    if not spots:
        return name
    i = rng.choice(spots)
    return name[:i] + _HOMOPHONES[name[i]] + name[i + 1:]


EstateWriter = Callable[[DemoPlace, str, random.Random], str]
ESTATE_WRITERS: dict[str, EstateWriter] = {
    "full": lambda p, b, r: f"{p.estate}{_phase(p, r)}{_building(b, r)}",
    "alias": lambda p, b, r: f"{r.choice(p.estate_aliases or (p.estate,))}{_phase(p, r)}{_building(b, r)}",
    "road": lambda p, b, r: f"{p.road}{p.estate}{_phase(p, r)}{_building(b, r)}",
    "message": lambda p, b, r: r.choice(["{}楼下的垃圾桶满了好几天没人清理", "我住{}，楼道的灯坏了一个星期",
                                         "{}门口有人乱停车堵住消防通道", "麻烦来看看{}的化粪池冒水了"]).format(
        f"{p.estate}{_phase(p, r)}{_building(b, r)}"),
    "traditional": lambda p, b, r: _to_traditional(f"{p.estate}{_phase(p, r)}{_building(b, r)}"),
    "full_width": lambda p, b, r: f"{p.estate}{_phase(p, r)}{_building(b, r)}".translate(_FULL_WIDTH),
    "typo": lambda p, b, r: _typo(f"{p.estate}{_phase(p, r)}{_building(b, r)}", r),
    "misspelt": lambda p, b, r: f"{_misspelt(p.estate, r)}{_phase(p, r)}{_building(b, r)}",
    "spaced": lambda p, b, r: f"{p.estate} {_phase(p, r)} {_building(b, r)} ",
}
HAMLET_WRITERS: dict[str, Callable[[DemoPlace, random.Random], str]] = {
    "hamlet": lambda p, r: f"{p.hamlet}村",
    "village_hamlet": lambda p, r: f"{p.community}{p.hamlet}",
    "group": lambda p, r: r.choice([f"{p.community}{p.group}组", f"{p.community}{p.group}队",
                                    f"{p.community}第{chinese(p.group)}村民小组"]),
    "hamlet_message": lambda p, r: f"{p.hamlet}村口的路灯坏了，晚上很黑",
    "hamlet_traditional": lambda p, r: _to_traditional(f"{p.community}{p.hamlet}村"),
}


def variants(place: DemoPlace, rng: random.Random, per_building: int = 2, per_hamlet: int = 3) -> list[tuple[str, str]]:
    """(text, writer name) for one unit: `per_building` variants per building, or `per_hamlet` for a hamlet."""
    if place.hamlet:
        return [(HAMLET_WRITERS[name](place, rng), name) for name in rng.sample(sorted(HAMLET_WRITERS), per_hamlet)]
    out = []
    for b in place.buildings:
        for name in rng.sample(sorted(ESTATE_WRITERS), per_building):
            out.append((ESTATE_WRITERS[name](place, b, rng), name))
    return out


def generated_rows(seed: int = 5) -> list[dict[str, str]]:
    rng = random.Random(seed)
    places = demo_places(SHIPPED_CONFIG_DIR / "demo" / "district.yaml")
    return [{"text": text, "unit": place.code, "kind": kind}
            for place in places for text, kind in variants(place, rng)]


def read_set(name: str) -> list[dict[str, str]]:
    with (ROUTING_DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


if __name__ == "__main__":
    writer = csv.DictWriter(sys.stdout, fieldnames=["text", "unit", "kind"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(generated_rows())

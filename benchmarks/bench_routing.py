"""Address matching: µs per message and top-1 accuracy at 10,000 units, against a naive scan.

Builds a synthetic district of 10,000 units (invented estates, phases, buildings and
hamlets), writes residents' variants of their addresses with the labelled set's writers
(tests/routing_set.py), and times, in the same run:
- gridbot's AddressIndex (normalise → exact names via Aho-Corasick / fuzzy candidates →
  designators → confidence), and
- the naive baseline: rapidfuzz `process.extractOne` (WRatio) over every address and
  alias as stored, no normalisation, no index.
It also scores both on the demo district's labelled set (tests/data/routing).

    .venv/bin/python benchmarks/bench_routing.py [--units 10000] [--queries 2000] [--naive-queries 300]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stats import percentile  # noqa: E402
from config.settings import SHIPPED_CONFIG_DIR  # noqa: E402
from demo.district import DemoPlace, build_demo_registry  # noqa: E402
from handlers.places.address_index import AddressIndex  # noqa: E402
from handlers.registry.records import AreaRecord, GridRecord, Registry, UnitRecord  # noqa: E402
from tests.routing_set import read_set, variants  # noqa: E402

HEADS = ("金沙 银湖 碧桂 翠竹 丽景 华府 盛世 君悦 海伦 富力 星河 名都 东方 南山 北城 西湖 天鹅 凤凰 紫荆 桂花 "
         "锦江 康乐 幸福 和平 光明 朝阳 春晖 秋实 冬青 海棠 芙蓉 牡丹 玉兰 丹桂 枫林 松柏 竹溪 梅林 兰亭 荷塘 "
         "云山 雾岭 雪峰 霞光 虹桥 星光 月湖 日升 金穗 银杏 铂悦 钻石 翡翠 玛瑙 珍珠 琥珀 水晶 宝安 长安 永宁 "
         "福田 禄景 寿康 喜来 乐园 安居 乐业 振兴 繁荣 昌盛 兴旺 发达 腾飞 龙腾 虎跃 鹏程 万里 千禧 百合 十里").split()
TAILS = "小区 花园 家园 新村 山庄 华庭 雅苑 名苑 豪庭 公寓 广场 新城 嘉园 半岛".split()
ROADS = "人民路 解放路 中山路 建设路 新华路 文化路 胜利路 和平路 青年路 东风路 迎宾大道 滨江大道".split()
HAMLET_CHARS = "上下东西南北大小新旧石竹龙松田水岭塘沙坑岗围屋头背尾口园桥湾洲坪角".replace(" ", "")


def synthetic_places(units: int, seed: int = 11) -> list[DemoPlace]:
    """About `units` units: estates of 2-building units (some with phases), and 10 % hamlets."""
    rng = random.Random(seed)
    names = [h + t for h in HEADS for t in TAILS]
    rng.shuffle(names)
    places: list[DemoPlace] = []
    estate_units = int(units * 0.9)
    for number, name in enumerate(names):
        if len(places) >= estate_units:
            break
        road = f"{ROADS[number % len(ROADS)]}{number + 1}号"
        community = f"社区{number // 20}"
        for phase in (1, 2) if number % 4 == 0 else (0,):
            buildings = [str(b) for b in range(1, rng.randint(8, 30) + 1)]
            places += [DemoPlace("", "测试区测试街道", community, road, name, (), phase, tuple(buildings[i:i + 2]))
                       for i in range(0, len(buildings), 2)]
    hamlets = {a + b for a in HAMLET_CHARS for b in HAMLET_CHARS if a != b}
    for group, hamlet in enumerate(sorted(hamlets)[: units - len(places)], start=1):
        places.append(DemoPlace("", "测试区测试镇", f"村{group // 60}", hamlet=hamlet, group=group % 60 + 1))
    return [DemoPlace(**{**place.__dict__, "code": f"U{i:05d}"}) for i, place in enumerate(places[:units])]


def synthetic_registry(places: list[DemoPlace]) -> Registry:
    communities = sorted({p.community for p in places})
    registry = Registry(areas=[AreaRecord("D", "测试区", "district")], grids=[])
    for community in communities:
        registry.areas.append(AreaRecord(community, community, "community", "D"))
        registry.grids.append(GridRecord(f"G-{community}", f"{community}网格", community))
    registry.units = [UnitRecord(p.code, f"G-{p.community}", p.address, p.aliases) for p in places]
    return registry


def queries(places: list[DemoPlace], count: int, seed: int = 13) -> list[tuple[str, int]]:
    """(text, index of the unit) for `count` units picked at random, one variant each.

    A hamlet's group number repeats across villages here, so group-only variants are left out.
    """
    rng = random.Random(seed)
    picked = rng.sample(range(len(places)), count)
    out = []
    for i in picked:
        options = [(text, kind) for text, kind in variants(places[i], rng, per_building=1, per_hamlet=5)
                   if kind != "group"]
        out.append((rng.choice(options)[0], i))
    return out


class NaiveScan:
    """rapidfuzz over every stored address and alias, as typed: no normalisation, no index."""

    def __init__(self, registry: Registry) -> None:
        self.choices, self.owner = [], []
        for i, unit in enumerate(registry.units):
            for text in (unit.address, *unit.aliases):
                self.choices.append(text)
                self.owner.append(i)

    def match(self, text: str) -> int | None:
        best = process.extractOne(text, self.choices, scorer=fuzz.WRatio)
        return self.owner[best[2]] if best else None


def _percentiles(values: list[float], prefix: str) -> dict[str, float]:
    return {f"{prefix}mean_us": round(statistics.fmean(values), 1), f"{prefix}p50_us": round(percentile(values, .5), 1),
            f"{prefix}p99_us": round(percentile(values, .99), 1)}


def timed(match, items: list[tuple[str, int]]) -> dict:
    """Latency per message — wall clock and this thread's CPU time, in µs — and top-1 accuracy.

    `match(text)` returns (unit index | None, confident). CPU time is reported beside wall time
    because the benchmark machine is shared: preemption inflates the wall-clock tail.
    """
    wall, cpu, right, confident, confident_wrong = [], [], 0, 0, 0
    for text, want in items:
        start, start_cpu = time.perf_counter(), time.thread_time()
        got, sure = match(text)
        cpu.append((time.thread_time() - start_cpu) * 1e6)
        wall.append((time.perf_counter() - start) * 1e6)
        right += got == want
        confident += sure
        confident_wrong += sure and got != want
    return {"messages": len(items), **_percentiles(wall, ""), **_percentiles(cpu, "cpu_"),
            "top1": round(right / len(items), 4), "confident": confident, "confident_wrong": confident_wrong}


def index_matcher(index: AddressIndex):
    def match(text: str):
        found = index.match(text)
        return (found[0].unit_id, found[0].confident) if found else (None, False)
    return match


def naive_matcher(naive: NaiveScan):
    return lambda text: (naive.match(text), False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--naive-queries", type=int, default=300, help="the naive scan is slow: fewer messages")
    args = parser.parse_args()

    places = synthetic_places(args.units)
    registry = synthetic_registry(places)
    started = time.perf_counter()
    index = AddressIndex.from_registry(registry)
    build_s = time.perf_counter() - started
    naive = NaiveScan(registry)
    items = queries(places, args.queries)
    index.match(items[0][0])  # warm the normaliser's caches
    gc.collect()
    gc.freeze()  # long-lived index objects out of the cyclic GC's scans, as in a long-running app
    large = {"units": len(registry.units), "index_build_s": round(build_s, 2),
             "index": timed(index_matcher(index), items),
             "naive": timed(naive_matcher(naive), items[: args.naive_queries])}
    large["index_on_naive_subset"] = timed(index_matcher(index), items[: args.naive_queries])

    demo = build_demo_registry(SHIPPED_CONFIG_DIR / "demo" / "district.yaml")
    codes = {unit.code: i for i, unit in enumerate(demo.units)}
    labelled = [(row["text"], codes[row["unit"]]) for row in read_set("generated.csv") + read_set("handwritten.csv")]
    small = {"units": len(demo.units), "index": timed(index_matcher(AddressIndex.from_registry(demo)), labelled),
             "naive": timed(naive_matcher(NaiveScan(demo)), labelled)}
    print(json.dumps({"python": platform.python_version(), "synthetic": large, "demo_labelled_set": small},
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

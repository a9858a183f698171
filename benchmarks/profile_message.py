"""CPU time per message on the app callback's path, in-process, by stage (independent of machine load).

Runs what the app runs for real encrypted reports — from bound residents, or (`--scenario
typhoon`, issue 21) each from a new resident naming their estate and building: decrypt + parse
(the event loop), accept in groups of 32 (the intake writer's group commit), and
`inbox.process_batch` (the processor: classify, route, case, notices, reply; `--batch` messages
per transaction, 1 = a transaction per message as before batching), plus what a passive reply
costs to render and encrypt. Reports the thread's CPU µs per message for each
stage; `--profile` adds a cProfile listing of the processing stage.

    .venv/bin/python benchmarks/profile_message.py [--messages N] [--scenario bound|typhoon]
        [--database-url URL] [--profile] [--steady]

Instructions per message (load-independent): `valgrind --tool=cachegrind --cache-sim=no` around
`--scenario typhoon --warmup 30 --steady`, `--messages 220` minus `--messages 20`, divided by 200, with
PYTHONHASHSEED=0.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_handling import scenario_texts  # noqa: E402
from benchmarks.bench_webhook import bind_residents, prepare_database, report_texts  # noqa: E402
from benchmarks.stats import percentile  # noqa: E402
from bot.logging_setup import configure_from_settings  # noqa: E402
from bot.state import AppState  # noqa: E402
from bot.wecom.callback import render_reply  # noqa: E402
from bot.wecom.parsing import inbound_from_fields, inbound_from_xml  # noqa: E402
from config.settings import Settings  # noqa: E402
from handlers.intake import inbox  # noqa: E402
from tests.deploy_secrets import TEST_SECRETS  # noqa: E402
from tests.wecom_sim import WeComSide, text_xml  # noqa: E402

STAGES = ("decrypt+parse", "accept (groups of 32)", "process (batches)", "passive reply+encrypt")
GROUP = 32


def requests(side: WeComSide, userids: list[str], texts: list[str], count: int) -> list[tuple[bytes, dict]]:
    out = []
    for i in range(count):
        encrypted = side.encrypt(text_xml(userids[i % len(userids)], texts[i % len(texts)], 10**12 + i))
        body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
        out.append((body, side.signed_params(encrypted, nonce=f"n{i}")))
    return out


def timed(fn, *args) -> tuple[object, int]:
    """(fn's result, this thread's CPU ns spent in it)."""
    start = time.thread_time_ns()
    result = fn(*args)
    return result, time.thread_time_ns() - start


def run(state: AppState, batch: list[tuple[bytes, dict]], cpu: dict[str, list[float]], limit: int,
        profiler: cProfile.Profile | None = None) -> None:
    """Every stage over `batch`, adding CPU ns per message to `cpu`."""
    inbounds = []
    for body, params in batch:
        inbound, spent = timed(lambda: inbound_from_xml(state.crypto.decrypt_xml(
            body, params["msg_signature"], params["timestamp"], params["nonce"])))
        inbounds.append(inbound)
        cpu[STAGES[0]].append(spent)
    for first in range(0, len(inbounds), GROUP):
        group = inbounds[first:first + GROUP]
        _, spent = timed(_accept, state, group)
        cpu[STAGES[1]].extend([spent / len(group)] * len(group))
    if profiler:
        profiler.enable()
    while True:
        outcomes, spent = timed(lambda: inbox.process_batch(state.factory, state.services, inbound_from_fields,
                                                            lambda _key: False, limit=limit, budget=60.0))
        if not outcomes:
            break
        cpu[STAGES[2]].extend([spent / len(outcomes)] * len(outcomes))
        for outcome in outcomes:
            if outcome.reply:
                _, spent = timed(render_reply, state, inbounds[0], outcome.reply, "nonce")
                cpu[STAGES[3]].append(spent)
    if profiler:
        profiler.disable()


def _accept(state: AppState, group: list) -> None:
    with state.factory.begin() as session:
        inbox.accept(session, group, state.services.clock())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int,
                        help="default 2,000 (bound); typhoon 5,800: with the warm-up, bench_handling's 6,000 "
                             "residents, so that likely duplicates are met as often as there")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32, help="messages per processing transaction (1: one each)")
    parser.add_argument("--scenario", choices=("bound", "typhoon"), default="bound",
                        help="bound: 2,000 residents bound to units; typhoon: a new resident per message, "
                             "naming estate and building")
    parser.add_argument("--database-url", help="default: a fresh SQLite file (WAL)")
    parser.add_argument("--profile", action="store_true", help="cProfile the dispatch stage")
    parser.add_argument("--steady", action="store_true",
                        help="no time-driven work during the run (the rule set looked up once, no WAL checkpoints): "
                             "for instruction counts under valgrind, where a run lasts minutes and how often that "
                             "work ran would follow the machine's load")
    args = parser.parse_args()
    args.messages = args.messages or (5800 if args.scenario == "typhoon" else 2000)
    database_url, _ = prepare_database(args.database_url)
    settings = Settings(_env_file=None, database_url=database_url, user_rate_limit=0, wecom_max_age=3600,
                        run_background_jobs=False, **TEST_SECRETS)
    side = WeComSide(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    count = args.warmup + args.messages
    if args.scenario == "bound":
        userids, texts = bind_residents(database_url, 2000), report_texts()
    else:
        userids, texts = [f"typhoon-{i:05d}" for i in range(count)], scenario_texts(database_url, count)
    batch = requests(side, userids, texts, count)

    # As the app logs: JSON lines on stderr (sent to /dev/null here, the cost stays).
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_stderr = os.dup(2)
    os.dup2(devnull, 2)
    configure_from_settings(settings)
    state = AppState.build(settings)
    state.warm()  # as the app and `gridbot worker` start: what lives as long as the process kept out of the GC
    if args.steady:
        state.rules._ttl = float("inf")  # looked up at the first message only
        if state.checkpointer is not None:
            state.checkpointer.stop()
    cpu: dict[str, list[float]] = {stage: [] for stage in STAGES}
    profiler = cProfile.Profile() if args.profile else None
    try:
        run(state, batch[:args.warmup], {stage: [] for stage in STAGES}, args.batch)
        run(state, batch[args.warmup:], cpu, args.batch, profiler)
    finally:
        os.dup2(saved_stderr, 2)
        state.close()

    print(f"{args.messages} messages ({args.scenario}, batches of {args.batch}), {database_url.split(':')[0]}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| stage | messages | CPU µs mean | CPU µs median | CPU µs p99 |")
    print("|---|---|---|---|---|")
    for name, values in cpu.items():
        print(f"| {name} | {len(values)} | {statistics.mean(values) / 1000:.0f} | "
              f"{statistics.median(values) / 1000:.0f} | {percentile(values, .99) / 1000:.0f} |")
    print(f"before the answer (decrypt+parse + accept): "
          f"{(statistics.mean(cpu[STAGES[0]]) + statistics.mean(cpu[STAGES[1]])) / 1000:.0f} µs per message")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()

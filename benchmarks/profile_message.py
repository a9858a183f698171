"""CPU time per message on the webhook's path, in-process, by stage (independent of machine load).

Runs what `POST /wecom/callback` runs for real encrypted reports from bound residents —
decrypt + parse, `dispatch.process` (one transaction), reply render + encrypt — in a loop
on this thread, and reports the thread's CPU µs per message for each stage (wall time
too). `--profile` adds a cProfile listing of the dispatch stage.

    .venv/bin/python benchmarks/profile_message.py [--messages 2000] [--database-url URL] [--profile]
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

from benchmarks.bench_webhook import bind_residents, prepare_database, report_texts  # noqa: E402
from bot.callback import render_reply  # noqa: E402
from bot.logging_setup import configure_from_settings  # noqa: E402
from bot.parsing import inbound_from_xml  # noqa: E402
from bot.state import AppState  # noqa: E402
from config.settings import Settings  # noqa: E402
from handlers import dispatch  # noqa: E402
from handlers.rulesets import PublishedRules  # noqa: E402
from tests.wecom_sim import WeComSide, text_xml  # noqa: E402

STAGES = ("decrypt+parse", "dispatch.process", "reply+encrypt")


def requests(side: WeComSide, userids: list[str], texts: list[str], count: int) -> list[tuple[bytes, dict]]:
    out = []
    for i in range(count):
        encrypted = side.encrypt(text_xml(userids[i % len(userids)], texts[i % len(texts)], 10**12 + i))
        body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
        out.append((body, side.signed_params(encrypted, nonce=f"n{i}")))
    return out


def one_message(state: AppState, body: bytes, params: dict, cpu: list[list[int]], wall: list[int]) -> None:
    start_wall, t0 = time.perf_counter_ns(), time.thread_time_ns()
    inbound = inbound_from_xml(state.crypto.decrypt_xml(body, params["msg_signature"], params["timestamp"],
                                                        params["nonce"]))
    t1 = time.thread_time_ns()
    reply = dispatch.process(state.factory, state.services, inbound)
    t2 = time.thread_time_ns()
    if reply:
        render_reply(state, inbound, reply, params["nonce"])
    t3 = time.thread_time_ns()
    wall.append(time.perf_counter_ns() - start_wall)
    for stage, spent in zip(cpu, (t1 - t0, t2 - t1, t3 - t2)):
        stage.append(spent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--database-url", help="default: a fresh SQLite file (WAL)")
    parser.add_argument("--profile", action="store_true", help="cProfile the dispatch stage")
    args = parser.parse_args()
    database_url, _ = prepare_database(args.database_url)
    settings = Settings(_env_file=None, database_url=database_url, user_rate_limit=0, wecom_max_age=3600,
                        run_background_jobs=False)
    side = WeComSide(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    userids = bind_residents(database_url, 2000)
    batch = requests(side, userids, report_texts(), args.warmup + args.messages)

    # As the app logs: JSON lines on stderr (sent to /dev/null here, the cost stays).
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_stderr = os.dup(2)
    os.dup2(devnull, 2)
    configure_from_settings(settings)
    state = AppState.build(settings)
    state.services.classifier_source = PublishedRules(database_url, settings.config_dir)
    cpu: list[list[int]] = [[] for _ in STAGES]
    wall: list[int] = []
    try:
        for body, params in batch[:args.warmup]:
            one_message(state, body, params, [[] for _ in STAGES], [])
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        for body, params in batch[args.warmup:]:
            one_message(state, body, params, cpu, wall)
        if profiler:
            profiler.disable()
    finally:
        os.dup2(saved_stderr, 2)
        state.services.classifier_source.close()
        state.close()

    print(f"{args.messages} messages, {database_url.split(':')[0]}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| stage | CPU µs mean | CPU µs median | CPU µs p99 |")
    print("|---|---|---|---|")
    for name, values in zip(STAGES, cpu):
        print(f"| {name} | {statistics.mean(values) / 1000:.0f} | {statistics.median(values) / 1000:.0f} | "
              f"{sorted(values)[int(len(values) * 0.99)] / 1000:.0f} |")
    totals = [sum(parts) for parts in zip(*cpu)]
    print(f"| total | {statistics.mean(totals) / 1000:.0f} | {statistics.median(totals) / 1000:.0f} | "
          f"{sorted(totals)[int(len(totals) * 0.99)] / 1000:.0f} |")
    print(f"wall µs per message: mean {statistics.mean(wall) / 1000:.0f}, "
          f"p99 {sorted(wall)[int(len(wall) * 0.99)] / 1000:.0f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()

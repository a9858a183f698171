"""`gridbot outbox list|stats|retry|send-once`: what an admin sees of the dead letters and how they retry."""

from __future__ import annotations

from tests.cli import cli_json, run_cli
from tests.unit.outbox_support import (  # noqa: F401 (fixtures)
    AGENT_ID,
    CORP_ID,
    SECRET,
    factory,
    fake,
    fake_url,
    queue,
    rows,
    sender_for,
)


def _env(fake) -> dict[str, str]:
    return {"GRIDBOT_WECOM_API_BASE": fake.url, "GRIDBOT_WECOM_CORP_ID": CORP_ID,
            "GRIDBOT_WECOM_SECRET": SECRET, "GRIDBOT_WECOM_AGENT_ID": str(AGENT_ID)}


def test_dead_letters_are_listed_with_their_reason_and_retried_from_the_command_line(factory, fake, database_url):
    queue(factory, 2, "cli")
    fake.faults({"path": "/cgi-bin/message/send", "errcode": 81013, "times": 1})
    sender_for(factory, fake.url).run_once()

    dead = cli_json(["outbox", "list", "--status", "dead", "--json"], database_url)
    assert [(row["recipient"], row["status"]) for row in dead] == [("cli-user-0", "dead")]
    assert "81013" in dead[0]["last_error"] and dead[0]["text"] == "cli notice 0"
    assert cli_json(["outbox", "stats", "--json"], database_url) | {"oldest_pending": None} == {
        "pending": 0, "sent": 1, "dead": 1, "held": 0, "oldest_pending": None}

    retried = run_cli(["outbox", "retry", str(dead[0]["id"])], database_url)
    assert retried.exit_code == 0 and "1 notice(s) queued again" in retried.stdout
    sent = run_cli(["outbox", "send-once"], database_url, **_env(fake))
    assert sent.exit_code == 0 and sent.stdout.startswith("1 sent")
    assert [row.status for row in rows(factory, "cli")] == ["sent", "sent"]
    assert fake.delivered_texts() == {"cli notice 0": 1, "cli notice 1": 1}


def test_retry_all_dead_requeues_every_dead_letter(factory, fake, database_url):
    queue(factory, 3, "cli")
    fake.faults({"path": "/cgi-bin/message/send", "errcode": 40003, "times": 3})
    sender_for(factory, fake.url).run_once()
    assert {row.status for row in rows(factory, "cli")} == {"dead"}
    result = run_cli(["outbox", "retry", "--all-dead"], database_url)
    assert "3 notice(s) queued again" in result.stdout
    assert {(row.status, row.attempts) for row in rows(factory, "cli")} == {("pending", 0)}


def test_bad_arguments_are_refused(factory, database_url):
    assert run_cli(["outbox", "retry"], database_url).exit_code == 2
    assert run_cli(["outbox", "list", "--status", "lost"], database_url).exit_code == 2

"""What the admin console does, as plain functions on a session: accounts and audit, case lists and
actions, registry pages, rule sets and their replay, statistics, broadcasts."""

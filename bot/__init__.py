"""The outside world: HTTP app and routes, WeCom crypto and API, outbox sender, CLI."""

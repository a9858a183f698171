"""Sending what handlers queued: claims and leases (`claims`), per-recipient pacing (`pacing`), the sender
with retries (`sender`), and the outbox's admin views (`store`)."""

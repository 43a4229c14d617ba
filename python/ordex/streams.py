"""Redis stream and key names of the exchange pipeline.

The `{MARKET}` hash tag keeps a market's streams on one Redis Cluster slot.
"""

from __future__ import annotations

INTAKE_STREAM = "orders.intake"
MATCHER_GROUP = "matchers"
PERSISTER_GROUP = "persisters"
INTAKE_GROUP = "intake"
PERSISTER_LEASE = "lease:persister"
INTAKE_LEASE = "lease:intake"


def commands_stream(market_id: str) -> str:
    return f"engine.commands.{{{market_id}}}"


def events_stream(market_id: str) -> str:
    return f"engine.events.{{{market_id}}}"


def deadletter_stream(market_id: str) -> str:
    return f"engine.deadletter.{{{market_id}}}"


def matcher_lease_key(market_id: str) -> str:
    return f"lease:matcher:{{{market_id}}}"


def matcher_progress_key(market_id: str) -> str:
    """The last command stream id the market's matcher applied (written with its events)."""
    return f"progress:matcher:{{{market_id}}}"


def top_of_book_key(market_id: str) -> str:
    """Hash with `bid`, `ask`, `last` (decimal strings) written by the matcher after each batch,
    in the same MULTI/EXEC as the market's events: it carries the market's hash tag too."""
    return f"md:top:{{{market_id}}}"

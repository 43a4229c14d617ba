"""Redis stream and key names of the exchange pipeline, and the form of an events-stream entry.

The `{MARKET}` hash tag keeps a market's streams on one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import orjson

INTAKE_STREAM = "orders.intake"
MATCHER_GROUP = "matchers"
PERSISTER_GROUP = "persisters"
INTAKE_GROUP = "intake"
PERSISTER_LEASE = "lease:persister"
INTAKE_LEASE = "lease:intake"


def as_parsed(response: Any, **_options: Any) -> Any:
    """A redis-py response callback that keeps a reply as hiredis parsed it (`[id, [field,
    value, ...]]` entries): redis-py's own callbacks build a dict per stream entry."""
    return response


def read_reply_entries(reply: Any) -> list[Any]:
    """The entries of the one stream of an XREADGROUP reply kept `as_parsed` (RESP2 list,
    RESP3 map)."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return cast(list[Any], next(iter(reply.values())))
    return cast(list[Any], reply[0][1])


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
    in the same MULTI/EXEC as the market's events: it carries the market's hash tag too.
    Perpetuals add `impact_bid`, `impact_ask` (`services.mark_prices.impact_price`)."""
    return f"md:top:{{{market_id}}}"


# ----- entries of `engine.events.{MARKET}` ----------------------------------------------------
#
# Two forms, both read everywhere: the matcher writes one entry per applied batch (`events`: a
# JSON array of the batch's events in seq order, with `first_seq` and `last_seq`); a single event
# in `payload` is the older form, still written by fixtures and other producers.

EVENTS_FIELD = b"events"
PAYLOAD_FIELD = b"payload"
FIRST_SEQ_FIELD = b"first_seq"
LAST_SEQ_FIELD = b"last_seq"


def event_batch_fields(
    payloads: Sequence[bytes], first_seq: int, last_seq: int
) -> dict[str, bytes | int]:
    """The fields of one batch entry; `payloads` are event JSON objects in seq order."""
    return {
        "first_seq": first_seq,
        "last_seq": last_seq,
        "events": b"[" + b",".join(payloads) + b"]",
    }


def entry_events(fields: Mapping[bytes, bytes]) -> list[dict[str, Any]]:
    """The events of one events-stream entry in seq order, whichever its form.

    Raises ValueError (orjson's decode error is one) for an entry that holds no readable event."""
    raw = fields.get(EVENTS_FIELD)
    if raw is not None:
        events = orjson.loads(raw)
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ValueError("`events` is not an array of event objects")
        return events
    event = orjson.loads(fields.get(PAYLOAD_FIELD, b""))
    if not isinstance(event, dict):
        raise ValueError("`payload` is not an event object")
    return [event]


def entry_last_seq(fields: Mapping[bytes, bytes]) -> int:
    """The seq of the last event in an events-stream entry, without decoding a whole batch."""
    last = fields.get(LAST_SEQ_FIELD)
    if last is not None:
        return int(last)
    return int(entry_events(fields)[-1]["seq"])


def entry_size(fields: Mapping[bytes, bytes]) -> int:
    """How many events an entry holds, from its seq range (1 for a single-event entry)."""
    first, last = fields.get(FIRST_SEQ_FIELD), fields.get(LAST_SEQ_FIELD)
    if first is None or last is None:
        return 1
    return int(last) - int(first) + 1

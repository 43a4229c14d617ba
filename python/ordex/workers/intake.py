"""Intake worker: order and cancel requests of trusted producers from the `orders.intake` stream.

Each request runs the same service functions as `POST /orders` (or `DELETE /orders/{orderId}`).
A batch read from the stream is one PostgreSQL transaction: the orders go through
`submit_orders` as one set-based batch (the orders between two cancels, to keep request order),
which refuses an order without writing anything of it and commits the others together; a cancel
has a savepoint of its own. A handful of statements and one commit per batch instead of several
round trips per order is what makes the stream faster than HTTP. Answers go to each request's `reply_to` stream after the commit, then the batch
is acknowledged. The schema is in docs/engine-streams.md ("Order intake").

Delivery is at least once: a batch whose commit happened but whose acknowledgement did not (a
crash in between) is read again and submitted again; producers that set `clientOrderId` get
DUPLICATE_CLIENT_ORDER_ID for the repeat while the first order is live.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import orjson
from redis.exceptions import ResponseError

from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient, close_reader, is_cluster, parsed_reader
from ordex.services import orders as orders_service
from ordex.services.exchange_errors import ExchangeError, invalid_request
from ordex.services.markets import MarketRegistry
from ordex.services.order_requests import parse_order_request
from ordex.streams import (
    INTAKE_GROUP,
    INTAKE_LEASE,
    INTAKE_STREAM,
    read_reply_entries,
)
from ordex.workers.lease import Lease

log = get_logger(__name__)

RawEntry = list[Any]
"""`[entry id, [field, value, ...]]` as hiredis parses XREADGROUP, decoded (fields None when the
entry was deleted since its delivery)."""
Reply = dict[str, str]

# Fields of a request entry that are about the request, not the order.
ENVELOPE_FIELDS = frozenset({"action", "account", "reply_to", "request_id", "orderId"})
REPLY_MAXLEN = 100_000  # approximate trim of each reply stream: producers read replies promptly
# XADD of each answer (a JSON array of [field, value, ...] arrays) to the reply stream KEYS[1].
APPEND_REPLIES = """
local answers = cjson.decode(ARGV[2])
for _, fields in ipairs(answers) do
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
end
return #answers
"""
MAX_ACCOUNT_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class IntakeRequest:
    entry_id: str
    fields: dict[str, str]

    @property
    def reply_to(self) -> str | None:
        return self.fields.get("reply_to") or None

    def reply(self, **answer: str) -> Reply:
        request_id = self.fields.get("request_id")
        base = {"request_id": request_id} if request_id is not None else {}
        return {**base, **answer}


def _request(entry: RawEntry) -> IntakeRequest:
    entry_id, flat = entry
    pairs = iter(flat or ())
    return IntakeRequest(entry_id, dict(zip(pairs, pairs, strict=False)))


def _entry_order(entry_id: object) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    millis, _, seq = text.partition("-")
    return int(millis), int(seq or 0)


def decoding_reader(redis: RedisClient) -> RedisClient:
    """A client on the same server whose XREADGROUP replies come back as hiredis parsed them,
    every string decoded in C (invalid UTF-8 replaced): redis-py's per-entry dicts of bytes and
    decoding a dozen fields per request in Python cost a fifth of the worker's time."""
    return parsed_reader(redis, "XREADGROUP", decode_responses=True, encoding_errors="replace")


def _account(fields: Mapping[str, str]) -> int:
    text = fields.get("account", "").strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ACCOUNT_ID:
        raise invalid_request("account must be a trading account id", field="account")
    return int(text)


def internal_error() -> ExchangeError:
    return ExchangeError(500, "INTERNAL_ERROR", "The request could not be processed; send it again")


def error_reply(request: IntakeRequest, error: ExchangeError) -> Reply:
    answer = {"status": "error", "code": error.code, "message": error.message}
    if error.field is not None:
        answer["field"] = error.field
    return request.reply(**answer)


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request as read and checked without the database: an order to submit, a cancel of
    `account_id`'s order, or a refusal to answer."""

    request: IntakeRequest
    account_id: int = 0
    submission: orders_service.OrderSubmission | None = None
    refusal: ExchangeError | None = None


def prepare(request: IntakeRequest) -> PreparedRequest:
    try:
        account_id = _account(request.fields)
        action = request.fields.get("action", "order")
        if action == "order":
            order = {k: v for k, v in request.fields.items() if k not in ENVELOPE_FIELDS}
            submission = orders_service.OrderSubmission(account_id, parse_order_request(order))
            return PreparedRequest(request, account_id, submission)
        if action != "cancel":
            raise invalid_request("action must be order or cancel", field="action")
        return PreparedRequest(request, account_id)
    except ExchangeError as error:
        return PreparedRequest(request, refusal=error)


class IntakeWorker:
    """Consumes `orders.intake` in the `intake` group as one named consumer, under a lease.

    One at a time: a restarted worker re-reads what was delivered to its name but never
    acknowledged, which would submit twice what a second live worker of that name is handling.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        *,
        consumer: str = "intake-1",
        batch_size: int = 500,
        registry_max_age_seconds: float = 5.0,
        lease_ms: int = 10_000,
    ) -> None:
        self._lease_ms = lease_ms
        self._pool = pool
        self._redis = redis
        self._consumer = consumer
        self._batch_size = batch_size
        self._registry_max_age = registry_max_age_seconds
        self._registry: MarketRegistry | None = None
        self._registry_loaded_at = 0.0
        self._append_replies = redis.register_script(APPEND_REPLIES)
        self._reader = decoding_reader(redis)

    async def aclose(self) -> None:
        await close_reader(self._reader, self._redis)

    async def ensure_group(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self._redis.xgroup_create(INTAKE_STREAM, INTAKE_GROUP, id="0", mkstream=True)

    async def _markets(self, conn: Connection) -> MarketRegistry:
        # Reloaded every few seconds like the API's, so a halted market stops taking orders here too.
        now = asyncio.get_running_loop().time()
        if self._registry is None or now - self._registry_loaded_at > self._registry_max_age:
            self._registry = await MarketRegistry.load(conn)
            self._registry_loaded_at = now
        return self._registry

    async def handle_batch(self, prepared: list[PreparedRequest]) -> int:
        """Submits a batch in one transaction, replies and acknowledges; returns the entries."""
        if not prepared:
            return 0
        async with self._pool.acquire() as conn:
            registry = await self._markets(conn)
            # One read of the published top of book for the whole batch (as fresh as HTTP's).
            tops = await orders_service.read_top_of_book(self._redis, registry.markets)
            async with conn.transaction():
                replies = await self._handle_all(conn, registry, tops, prepared)
        requests = [p.request for p in prepared]
        by_stream: dict[str, list[list[str]]] = {}
        for request, answer in zip(requests, replies, strict=True):
            if request.reply_to is not None:
                fields = [item for pair in answer.items() for item in pair]
                by_stream.setdefault(request.reply_to, []).append(fields)
        ids = [r.entry_id for r in requests]
        if is_cluster(self._redis):
            # A cluster pipeline sends EVALSHA without loading the script first: the script
            # calls go on their own (each to its stream's node, all at once), then the XACK.
            await asyncio.gather(
                *(
                    self._append_replies(keys=[stream], args=[REPLY_MAXLEN, orjson.dumps(answers)])
                    for stream, answers in by_stream.items()
                )
            )
            await self._redis.xack(INTAKE_STREAM, INTAKE_GROUP, *ids)
            return len(requests)
        pipe = self._redis.pipeline(transaction=False)
        for stream, answers in by_stream.items():
            # One script call per reply stream: packing an XADD per answer in redis-py would
            # cost more than everything else the batch does.
            await self._append_replies(
                keys=[stream], args=[REPLY_MAXLEN, orjson.dumps(answers)], client=cast(Any, pipe)
            )
        pipe.xack(INTAKE_STREAM, INTAKE_GROUP, *ids)
        await pipe.execute()
        return len(requests)

    async def _handle_all(
        self,
        conn: Connection,
        registry: MarketRegistry,
        tops: dict[str, orders_service.TopOfBook],
        prepared: list[PreparedRequest],
    ) -> list[Reply]:
        """Answers in request order. Orders between two cancels go in as one set-based batch;
        a cancel runs alone, after the orders before it and before those after it."""
        replies: list[Reply | None] = [None] * len(prepared)
        run: list[tuple[int, orders_service.OrderSubmission]] = []
        for index, item in enumerate(prepared):
            if item.refusal is not None:
                replies[index] = error_reply(item.request, item.refusal)
            elif item.submission is not None:
                run.append((index, item.submission))
            else:
                await self._submit_run(conn, registry, tops, prepared, run, replies)
                run = []
                try:
                    replies[index] = await self._cancel(conn, item.request, item.account_id)
                except ExchangeError as error:
                    replies[index] = error_reply(item.request, error)
        await self._submit_run(conn, registry, tops, prepared, run, replies)
        return cast(list[Reply], replies)

    async def _submit_run(
        self,
        conn: Connection,
        registry: MarketRegistry,
        tops: dict[str, orders_service.TopOfBook],
        prepared: list[PreparedRequest],
        run: list[tuple[int, orders_service.OrderSubmission]],
        replies: list[Reply | None],
    ) -> None:
        if not run:
            return
        outcomes = await orders_service.submit_orders(
            conn, self._redis, registry, [s for _, s in run], tops=tops
        )
        for (index, _), outcome in zip(run, outcomes, strict=True):
            request = prepared[index].request
            if isinstance(outcome, orders_service.SubmittedOrder):
                replies[index] = request.reply(
                    status="accepted", orderId=outcome.order_id, orderStatus=outcome.status
                )
            elif isinstance(outcome, ExchangeError):
                replies[index] = error_reply(request, outcome)
            else:
                # A request the database refused must not block the stream: it alone is answered,
                # the producer may send it again.
                log.warning("intake request failed", entry=request.entry_id, error=str(outcome))
                replies[index] = error_reply(request, internal_error())

    async def _cancel(self, conn: Connection, request: IntakeRequest, account_id: int) -> Reply:
        order_id = orders_service.parse_order_id(request.fields.get("orderId", ""))
        try:
            # A savepoint of its own: a refused cancel rolls back alone.
            async with conn.transaction():
                requested = await orders_service.cancel_order(conn, account_id, order_id)
        except asyncpg.PostgresError as exc:
            log.warning("intake request failed", entry=request.entry_id, error=str(exc))
            return error_reply(request, internal_error())
        return request.reply(
            status="accepted",
            orderId=str(requested.order.id),
            orderStatus=requested.order.status,
            cancelRequested="true",
        )

    async def step(self, block_ms: int = 100, pending: bool = False) -> int:
        """Reads and handles one batch; `pending` re-reads entries delivered but never
        acknowledged (after a crash). Returns the entries handled."""
        return await self.handle_batch(await self._read(block_ms, pending))

    async def _read(self, block_ms: int, pending: bool = False) -> list[PreparedRequest]:
        reply = await self._reader.xreadgroup(
            INTAKE_GROUP,
            self._consumer,
            {INTAKE_STREAM: "0" if pending else ">"},
            count=self._batch_size,
            block=None if pending else block_ms,
        )
        return [prepare(_request(entry)) for entry in read_reply_entries(reply)]

    async def caught_up(self) -> bool:
        """Whether every request in the stream has been read and acknowledged by the group."""
        last = cast(list[Any], await self._redis.xrevrange(INTAKE_STREAM, count=1))
        if not last:
            return True
        groups = cast(list[dict[str, object]], await self._redis.xinfo_groups(INTAKE_STREAM))
        for group in groups:
            if group.get("name") in (INTAKE_GROUP, INTAKE_GROUP.encode()):
                delivered = group.get("last-delivered-id")
                # Past the last entry counts too: entries delivered since may have been deleted.
                return group.get("pending") == 0 and _entry_order(delivered) >= _entry_order(
                    last[0][0]
                )
        return False

    async def run(self, stop: asyncio.Event) -> None:
        lease = Lease(self._redis, INTAKE_LEASE, self._lease_ms)
        if not await lease.acquire(stop):
            return
        try:
            await self._consume(stop, lease)
        finally:
            with contextlib.suppress(Exception):
                await lease.release()
            await self.aclose()

    async def _consume(self, stop: asyncio.Event, lease: Lease) -> None:
        await self.ensure_group()
        while await self.step(pending=True):
            pass
        # The next batch is read and its requests parsed while this one's transaction runs.
        ahead: asyncio.Future[list[PreparedRequest]] | None = None
        try:
            while not stop.is_set():
                if not await lease.keep():
                    log.error("intake worker lost its lease; stopping")
                    return
                try:
                    batch = await ahead if ahead is not None else await self._read(100)
                    ahead = None
                    if batch:
                        ahead = asyncio.ensure_future(self._read(100))
                        await self.handle_batch(batch)
                except (OSError, asyncpg.PostgresError, ConnectionError) as exc:
                    log.warning("intake batch failed; retrying", error=str(exc))
                    # What the read ahead took is delivered but unacknowledged: the re-read
                    # of the pending entries below handles it, after the batch that failed.
                    await _discard(ahead)
                    ahead = None
                    await asyncio.sleep(0.5)
                    with contextlib.suppress(OSError, asyncpg.PostgresError, ConnectionError):
                        while await self.step(pending=True):
                            pass
        finally:
            await _discard(ahead)  # left pending: handled at the next start


async def _discard(future: asyncio.Future[Any] | None) -> None:
    if future is None:
        return
    future.cancel()
    await asyncio.wait({future})
    if not future.cancelled():
        future.exception()  # retrieved: a failed read ahead only leaves its entries pending

"""Where people's multi-step flows live, and what keeps one person's updates apart, on one instance or many.

With `[redis] url`: aiogram's RedisStorage (FSM state), RedisEventIsolation (two updates of one person are
never handled at once, on any instance) and token buckets in Redis (a flooder is throttled across
instances). Without Redis: the FSM state in the database (`FlowStates`), so a restart continues a
half-finished flow; isolation and throttling are per process, so several instances taking updates need Redis
(a person's next update could reach the other instance before the previous one's state is stored). On SQLite
the flows are also remembered in memory (one process takes updates there), so an update costs no flow read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from redis.asyncio import BlockingConnectionPool, Redis

from alertbot.config import AppConfig
from alertbot.core.remembered import Remembered
from alertbot.storage.batching import GroupCommit
from alertbot.storage.database import Database
from alertbot.storage.flow_states import NO_DATA, NO_FLOW, Flow, FlowStateRepository

REDIS_CONNECTIONS = 64
REMEMBERED = 20_000  # flows kept in memory by FlowStates(remember=True)


class FlowStates(BaseStorage):
    """aiogram FSM storage on the database (`storage/flow_states.py`), written through a group commit.

    With `remember`, the flows this process read or wrote are kept in memory too (the latest `REMEMBERED`
    keys), so an update costs no read: right where this process is the only one taking updates, as with a
    SQLite file. `remember_all` loads every stored flow at start when they fit; while memory holds them all,
    a person it does not know has no flow, and their update reads nothing either. Without `remember` every
    read goes to the database. Nothing is remembered before it is stored.
    """

    def __init__(self, database: Database, *, remember: bool = False) -> None:
        self._repository = FlowStateRepository(database)
        self._keys = DefaultKeyBuilder(with_destiny=True, with_bot_id=True, with_business_connection_id=True)
        self._remembered: Remembered[str, Flow] = Remembered(REMEMBERED if remember else 0)
        self._writes = GroupCommit(self._repository.write)

    async def remember_all(self) -> int | None:
        """With `remember`: load every stored flow when they fit, so that no update reads one; how many, else None."""
        if self._remembered.size <= 0:
            return None
        flows = await self._repository.all(limit=self._remembered.size)
        if flows is None or not self._remembered.load(flows):
            return None
        return len(flows)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = state.state if isinstance(state, State) else state
        stored = self._keys.build(key)
        current = await self._flow(stored)
        await self._change(stored, current, current._replace(state=name))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._flow(self._keys.build(key))).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        stored = self._keys.build(key)
        text = json.dumps(dict(data), ensure_ascii=False, separators=(",", ":")) if data else NO_DATA
        current = await self._flow(stored)
        await self._change(stored, current, current._replace(data=text))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((await self._flow(self._keys.build(key))).data)
        return data

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""

    async def _flow(self, key: str) -> Flow:
        if key in self._remembered:
            self._remembered.move_to_end(key)
            return self._remembered[key]
        if self._remembered.complete:
            return NO_FLOW
        flow = await self._repository.get(key)
        self._remembered[key] = flow
        return flow

    async def _change(self, key: str, current: Flow, flow: Flow) -> None:
        if flow == current:
            return  # already stored so (a clear of no flow, the same step again)
        try:
            await self._writes.submit((key, flow))
        except BaseException:
            # not known to be stored: read again next time (and a miss no longer means "no flow")
            self._remembered.pop(key, None)
            self._remembered.complete = False
            raise
        if flow.ended and self._remembered.complete:
            self._remembered.pop(key, None)  # complete: absent means no flow
        else:
            self._remembered[key] = flow


class Buckets(Protocol):
    """Per-person token buckets: `take` says whether this person may have one more update handled now."""

    async def take(self, key: int) -> bool: ...


class LocalBuckets:
    """One token bucket per person in this process: `burst` at once, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int, max_idle: float = 600.0) -> None:
        self.rate = rate
        self.burst = burst
        self._max_idle = max_idle
        self._buckets: dict[int, tuple[float, float]] = {}
        self._next_sweep = time.monotonic() + max_idle

    async def take(self, key: int) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if now >= self._next_sweep:
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < self._max_idle}
            self._next_sweep = now + self._max_idle
        return allowed


# One bucket per person in a Redis hash (tokens, last refill in ms by Redis's clock, so hosts need not agree);
# the script runs atomically, so instances taking from the same bucket at once never both get the last token.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now_ms
tokens = math.min(burst, tokens + math.max(0, now_ms - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now_ms)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return allowed
"""


class RedisBuckets:
    """The same buckets in Redis, shared by every instance."""

    def __init__(self, redis: Redis, prefix: str, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._prefix = prefix
        self._take = redis.register_script(_TAKE)

    async def take(self, key: int) -> bool:
        return bool(await self._take(keys=[f"{self._prefix}:throttle:{key}"], args=[self.rate, self.burst]))


@dataclass(frozen=True)
class Flows:
    """What the Dispatcher is built with: FSM storage, event isolation, throttling buckets."""

    storage: BaseStorage
    isolation: BaseEventIsolation
    buckets: Buckets


def build_flows(config: AppConfig, database: Database) -> Flows:
    """Redis when `[redis] url` is set, else the database and this process."""
    rate, burst = config.bot.throttle_rate, config.bot.throttle_burst
    url = config.redis.url.get_secret_value()
    if not url:
        return Flows(
            FlowStates(database, remember=database.is_sqlite), SimpleEventIsolation(), LocalBuckets(rate, burst)
        )
    # Blocking: a surge waits for a free connection (at most 10 s) instead of failing with "Too many connections".
    pool = BlockingConnectionPool.from_url(url, max_connections=REDIS_CONNECTIONS, timeout=10)
    redis = Redis(connection_pool=pool)
    keys = DefaultKeyBuilder(prefix=config.redis.prefix, with_destiny=True, with_bot_id=True)
    return Flows(
        RedisStorage(redis, key_builder=keys),
        RedisEventIsolation(redis, key_builder=keys),
        RedisBuckets(redis, config.redis.prefix, rate, burst),
    )

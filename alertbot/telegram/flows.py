"""Where people's multi-step flows live, and what keeps one person's updates apart, on one instance or many.

With `[redis] url`: aiogram's RedisStorage (FSM state), RedisEventIsolation (two updates of one person are
never handled at once, on any instance) and token buckets in Redis (a flooder is throttled across
instances). Without Redis: the FSM state in the database (`FlowStates`), so a restart continues a
half-finished flow; isolation and throttling are per process, so several instances taking updates need Redis
(a person's next update could reach the other instance before the previous one's state is stored).
"""

from __future__ import annotations

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
from alertbot.storage.database import Database
from alertbot.storage.flow_states import FlowStateRepository

REDIS_CONNECTIONS = 64


class FlowStates(BaseStorage):
    """aiogram FSM storage on the database (`storage/flow_states.py`)."""

    def __init__(self, database: Database) -> None:
        self._repository = FlowStateRepository(database)
        self._keys = DefaultKeyBuilder(with_destiny=True, with_bot_id=True, with_business_connection_id=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = state.state if isinstance(state, State) else state
        await self._repository.set_state(self._keys.build(key), name)

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._repository.get(self._keys.build(key))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._repository.set_data(self._keys.build(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._repository.get(self._keys.build(key))
        return data

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""


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
        return Flows(FlowStates(database), SimpleEventIsolation(), LocalBuckets(rate, burst))
    # Blocking: a surge waits for a free connection (at most 10 s) instead of failing with "Too many connections".
    pool = BlockingConnectionPool.from_url(url, max_connections=REDIS_CONNECTIONS, timeout=10)
    redis = Redis(connection_pool=pool)
    keys = DefaultKeyBuilder(prefix=config.redis.prefix, with_destiny=True, with_bot_id=True)
    return Flows(
        RedisStorage(redis, key_builder=keys),
        RedisEventIsolation(redis, key_builder=keys),
        RedisBuckets(redis, config.redis.prefix, rate, burst),
    )

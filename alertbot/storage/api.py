"""What the HTTP API keeps: its keys (hashes only, never a key), the answers to idempotent requests, and
the CAP messages already acted on (each once, by sender and identifier)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from alertbot.core.clock import utcnow
from alertbot.storage.database import Database, as_utc
from alertbot.storage.tables import api_keys, api_requests, cap_imports


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    official_id: int
    cap_import: str | None  # None, "draft" or "send"
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


IN_PROGRESS = 0
"""The status of an idempotent request still being worked on."""


@dataclass(frozen=True, slots=True)
class Remembered:
    """The first answer to an idempotent request: what it asked (hashed), what it made, its HTTP status."""

    request_hash: str
    broadcast_id: int | None
    status: int  # IN_PROGRESS until it is settled
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CapImport:
    sender: str
    identifier: str
    broadcast_id: int | None
    outcome: str


async def _insert_once(database: Database, insert: sa.Insert) -> bool:
    """Insert the row in its own transaction; False when its key is taken (by anyone, at any time)."""
    try:
        async with database.transaction() as conn:
            await conn.execute(insert)
    except IntegrityError:
        return False
    return True


def _key(row: sa.Row[tuple[object, ...]]) -> ApiKey:
    return ApiKey(
        name=row.name, official_id=row.official_id, cap_import=row.cap_import, created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
    )  # fmt: skip


class ApiKeyRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def create(self, name: str, key_hash: str, official_id: int, cap_import: str | None) -> ApiKey | None:
        """A new key (None when the name is taken)."""
        now = utcnow()
        insert = api_keys.insert().values(
            name=name, key_hash=key_hash, official_id=official_id, cap_import=cap_import, created_at=now
        )
        if not await _insert_once(self._database, insert):
            return None
        return ApiKey(name, official_id, cap_import, now, None)

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        async with self._database.connect() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.key_hash == key_hash))).first()
        return None if row is None else _key(row)

    async def all(self) -> list[ApiKey]:
        async with self._database.connect() as conn:
            rows = (await conn.execute(sa.select(api_keys).order_by(api_keys.c.name))).all()
        return [_key(row) for row in rows]

    async def revoke(self, name: str) -> bool:
        """Revoke the key; False when there is no active key of that name."""
        async with self._database.transaction() as conn:
            result = await conn.execute(
                api_keys.update()
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return bool(result.rowcount)


class IdempotencyRepository:
    """Requests with an Idempotency-Key: claimed before the work (status 0: in progress), settled after it."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def _row(self, key_name: str, idempotency_key: str) -> sa.ColumnElement[bool]:
        return sa.and_(api_requests.c.key_name == key_name, api_requests.c.idempotency_key == idempotency_key)

    async def get(self, key_name: str, idempotency_key: str) -> Remembered | None:
        async with self._database.connect() as conn:
            row = (await conn.execute(sa.select(api_requests).where(self._row(key_name, idempotency_key)))).first()
        if row is None:
            return None
        return Remembered(row.request_hash, row.broadcast_id, row.status, as_utc(row.created_at))  # type: ignore[arg-type]

    async def claim(self, key_name: str, idempotency_key: str, request_hash: str) -> Remembered | None:
        """Take the key for this request (None); when it was taken before, what is remembered of that one."""
        claim = api_requests.insert().values(
            key_name=key_name, idempotency_key=idempotency_key, request_hash=request_hash, broadcast_id=None,
            status=IN_PROGRESS, created_at=utcnow(),
        )  # fmt: skip
        if await _insert_once(self._database, claim):
            return None
        return await self.get(key_name, idempotency_key)

    async def settle(self, key_name: str, idempotency_key: str, broadcast_id: int, status: int) -> None:
        async with self._database.transaction() as conn:
            await conn.execute(
                api_requests.update()
                .where(self._row(key_name, idempotency_key))
                .values(broadcast_id=broadcast_id, status=status)
            )

    async def release(self, key_name: str, idempotency_key: str) -> None:
        """The request made nothing (refused, or failed): the key may be used again."""
        async with self._database.transaction() as conn:
            await conn.execute(sa.delete(api_requests).where(self._row(key_name, idempotency_key)))


class CapImportRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, sender: str, identifier: str) -> CapImport | None:
        async with self._database.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(cap_imports).where(cap_imports.c.sender == sender, cap_imports.c.identifier == identifier)
                )
            ).first()
        return None if row is None else CapImport(row.sender, row.identifier, row.broadcast_id, row.outcome)

    async def claim(self, sender: str, identifier: str, sent: str, key_name: str) -> bool:
        """Take the message for this request (False: it was imported before, or is being imported now)."""
        claim = cap_imports.insert().values(
            sender=sender, identifier=identifier, sent=sent, key_name=key_name, broadcast_id=None,
            outcome="importing", created_at=utcnow(),
        )  # fmt: skip
        return await _insert_once(self._database, claim)

    async def settle(self, sender: str, identifier: str, outcome: str, broadcast_id: int | None) -> None:
        async with self._database.transaction() as conn:
            await conn.execute(
                cap_imports.update()
                .where(cap_imports.c.sender == sender, cap_imports.c.identifier == identifier)
                .values(outcome=outcome, broadcast_id=broadcast_id)
            )

    async def release(self, sender: str, identifier: str) -> None:
        """The import failed before anything was made: the same message may be posted again."""
        async with self._database.transaction() as conn:
            await conn.execute(
                sa.delete(cap_imports).where(cap_imports.c.sender == sender, cap_imports.c.identifier == identifier)
            )

    async def broadcasts_of(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The broadcasts made from these (sender, identifier) messages."""
        found: dict[tuple[str, str], int] = {}
        async with self._database.connect() as conn:
            for sender, identifier in pairs:
                row = (
                    await conn.execute(
                        sa.select(cap_imports.c.broadcast_id).where(
                            cap_imports.c.sender == sender, cap_imports.c.identifier == identifier
                        )
                    )
                ).first()
                if row is not None and row.broadcast_id is not None:
                    found[(sender, identifier)] = row.broadcast_id
        return found

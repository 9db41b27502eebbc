"""API keys: created for an official (printed once, only the hash kept), checked on every request, revoked.

A key acts as its official: the same scope, role and two-person rule as in the chat, because every call goes
through the same services with the official's id. Creating and revoking a key is audited.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from alertbot.core.errors import AppError, NotAnOfficialError
from alertbot.services.officials import OfficialDirectory
from alertbot.storage.api import ApiKey, ApiKeyRepository
from alertbot.storage.audit import AuditLog

KEY_PREFIX = "abk_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CapImport = Literal["draft", "send"]


class ApiKeyError(AppError):
    """A key cannot be created or revoked as asked (bad or taken name, no such key)."""

    key = "api-key-refused"
    exit_code = 2


def key_hash(key: str) -> str:
    """What the database keeps of a key: its SHA-256 (a key is 32 random bytes: no salt needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once
    record: ApiKey


class ApiKeyService:
    def __init__(self, repository: ApiKeyRepository, officials: OfficialDirectory, audit: AuditLog) -> None:
        self._repo = repository
        self._officials = officials
        self._audit = audit

    async def create(self, name: str, official_id: int, cap_import: CapImport | None = None) -> NewKey:
        if not NAME_PATTERN.match(name):
            raise ApiKeyError(f"bad key name {name!r}: 1-64 letters, digits, '_', '.' or '-'", name=name)
        official = self._officials.get(official_id)
        if official is None:
            raise NotAnOfficialError(f"{official_id} is not an official")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = await self._repo.create(name, key_hash(key), official_id, cap_import)
        if record is None:
            raise ApiKeyError(f"a key named {name!r} exists already (revoked keys keep their name)", name=name)
        await self._audit.record(
            "api_key_create", actor_id=official_id, actor_name=official.name, key=name, cap_import=cap_import
        )
        return NewKey(key, record)

    async def authenticate(self, key: str) -> ApiKey | None:
        """The active key, or None (unknown, revoked, or its official no longer configured)."""
        if not key.startswith(KEY_PREFIX) or len(key) > 128:
            return None
        record = await self._repo.by_hash(key_hash(key))
        if record is None or not record.active or self._officials.get(record.official_id) is None:
            return None
        return record

    async def all(self) -> list[ApiKey]:
        return await self._repo.all()

    async def revoke(self, name: str) -> None:
        if not await self._repo.revoke(name):
            raise ApiKeyError(f"no active key named {name!r}", name=name)
        await self._audit.record("api_key_revoke", actor_id=None, key=name)

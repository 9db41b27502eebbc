"""What residents and businesses may do with their own subscription, validated before it is stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import cast

from alertbot.core.domain import BUSINESS_NAME_MAX, BusinessCategory, Language, Subscriber, SubscriberKind
from alertbot.core.errors import InvalidBusinessNameError, UnknownDistrictError
from alertbot.core.quiet import QuietHours
from alertbot.core.remembered import Remembered
from alertbot.services.districts import DistrictDirectory
from alertbot.storage.batching import GroupCommit
from alertbot.storage.subscribers import DistrictRequest, SubscriberRepository

LANGUAGE_CACHE_SIZE = 100_000
_UNKNOWN = object()  # not remembered: the database must say


class SubscriptionService:
    """The only way the chat changes subscriptions: every district id is checked against the config."""

    def __init__(
        self, repository: SubscriberRepository, districts: DistrictDirectory, *, only_writer: bool = True
    ) -> None:
        self._repo = repository
        self.districts = districts
        # Every update needs the person's language. When this process is its only writer (one instance),
        # it keeps a cache that its own writes keep true (None: nothing stored, use Telegram's language),
        # loaded whole at start when it fits (`remember_all`), so a newcomer costs no read either.
        # Instances sharing a database (with Redis) do not: another one may change it at any moment.
        self._languages: Remembered[int, Language | object | None] = Remembered(
            LANGUAGE_CACHE_SIZE if only_writer else 0
        )  # values: a language, None (nothing stored) or _UNKNOWN (look it up)
        self._subscribe_batches = GroupCommit(repository.add_districts)

    async def get(self, chat_id: int) -> Subscriber | None:
        """The subscriber, with districts in the configured order (as the picker shows them)."""
        if self._remembered_language(chat_id) is None:
            return None  # known to have nothing stored (a newcomer's /start, after the language lookup)
        subscriber = await self._repo.get(chat_id)
        if subscriber is None:
            return None
        ordered = tuple(d for d in self.districts.ids if d in subscriber.districts)
        return dataclasses.replace(subscriber, districts=ordered)

    async def remember_all(self) -> int | None:
        """(Re)load the cache from the database (the only writer): every stored language when they fit, how
        many; else None and the cache starts empty, filled as people come."""
        if self._languages.size <= 0:
            return None
        languages = await self._repo.languages(limit=self._languages.size)
        if languages is None or not self._languages.load(dict(languages)):
            self._languages.clear()
            self._languages.complete = False
            return None
        return len(languages)

    def _remembered_language(self, chat_id: int) -> Language | object | None:
        """The cached language, None if nothing is stored, or _UNKNOWN."""
        if chat_id in self._languages:
            return self._languages[chat_id]
        return None if self._languages.complete else _UNKNOWN

    def chat_moved(self, old: int, new: int) -> None:
        """The sender recorded a group's move to its supergroup id: what each id has stored is looked up again."""
        self._languages[old] = self._languages[new] = _UNKNOWN

    async def stored_language(self, chat_id: int) -> Language | None:
        remembered = self._remembered_language(chat_id)
        if remembered is not _UNKNOWN:
            return cast(Language | None, remembered)
        language = await self._repo.language_of(chat_id)
        self._languages[chat_id] = language
        return language

    async def register_resident(self, chat_id: int, language: Language) -> Subscriber:
        subscriber = await self._repo.upsert_profile(chat_id, language=language, kind=SubscriberKind.RESIDENT)
        self._languages[chat_id] = subscriber.language
        return subscriber

    async def register_business(
        self, chat_id: int, language: Language, category: BusinessCategory, name: str
    ) -> Subscriber:
        cleaned = " ".join(name.split())
        if not cleaned or len(cleaned) > BUSINESS_NAME_MAX:
            raise InvalidBusinessNameError(cleaned)
        subscriber = await self._repo.upsert_profile(
            chat_id,
            language=language,
            kind=SubscriberKind.BUSINESS,
            business_category=category,
            business_name=cleaned,
        )
        self._languages[chat_id] = subscriber.language
        return subscriber

    async def ensure(self, chat_id: int, language: Language) -> Subscriber:
        """The subscriber, created as a resident if new (used by /subscribe before onboarding)."""
        existing = await self.get(chat_id)
        if existing is not None:
            return existing
        subscriber = await self._repo.upsert_profile(chat_id, language=language)
        self._languages[chat_id] = subscriber.language
        return subscriber

    def _check(self, district_ids: Iterable[str]) -> list[str]:
        ids = list(district_ids)
        unknown = [d for d in ids if d not in self.districts]
        if unknown:
            raise UnknownDistrictError(unknown)
        return ids

    async def subscribe(self, chat_id: int, language: Language, district_ids: Iterable[str]) -> list[str]:
        """Add districts (validated); returns the newly added ids."""
        ids = tuple(self._check(district_ids))
        added = await self._subscribe_batches.submit(DistrictRequest(chat_id, language, ids))
        if self._remembered_language(chat_id) is None:
            self._languages[chat_id] = language  # they were new: stored with this language (else theirs stays)
        return added

    async def unsubscribe(self, chat_id: int, district_ids: Iterable[str] | None) -> list[str]:
        """Remove districts (None: all); returns the removed ids."""
        ids = None if district_ids is None else self._check(district_ids)
        return await self._repo.remove_districts(chat_id, ids)

    async def toggle(self, chat_id: int, language: Language, district_id: str) -> bool:
        """Subscribe if not subscribed, else unsubscribe; True if now subscribed."""
        self._check([district_id])
        if await self._repo.remove_districts(chat_id, [district_id]):
            return False
        await self.subscribe(chat_id, language, [district_id])
        return True

    async def reactivate(self, chat_id: int) -> None:
        await self._repo.reactivate(chat_id)

    async def set_language(self, chat_id: int, language: Language) -> None:
        await self.ensure(chat_id, language)
        await self._repo.set_language(chat_id, language)
        self._languages[chat_id] = language

    async def set_quiet_hours(self, chat_id: int, language: Language, quiet_hours: QuietHours | None) -> None:
        """Store the person's own quiet hours (None: none at all)."""
        await self.ensure(chat_id, language)
        await self._repo.set_quiet_hours(chat_id, str(quiet_hours) if quiet_hours else "")

    async def reset_quiet_hours(self, chat_id: int) -> None:
        """Back to the configured default."""
        await self._repo.set_quiet_hours(chat_id, None)

    async def quiet_hours(self, chat_id: int) -> str | None:
        """The stored quiet hours: a window, "" for none, None when the default applies."""
        return await self._repo.quiet_hours_of(chat_id)

    async def counts_by_district(self) -> dict[str, int]:
        """Active subscribers per district id."""
        return await self._repo.count_by_district()

    async def forget(self, chat_id: int, *, official: bool = False) -> bool:
        """Erase the person (/forgetme): nothing stored names the chat afterwards, nothing more is sent to it.

        One transaction (see `SubscriberRepository.forget`). `official`: the chat is a configured
        official, whose acts stay in the audit log. The caller clears the person's chat state (FSM).
        """
        self._languages.pop(chat_id, None)
        forgotten = await self._repo.forget(chat_id, keep_official_record=official)
        self._languages.pop(chat_id, None)
        return forgotten

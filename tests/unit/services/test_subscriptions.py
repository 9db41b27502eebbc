"""SubscriptionService: what it reads from the database for a person, and when it trusts its own cache."""

from __future__ import annotations

import pytest

from alertbot.config import load_config
from alertbot.services.districts import DistrictDirectory
from alertbot.services.subscriptions import SubscriptionService
from alertbot.storage import Database
from alertbot.storage.subscribers import SubscriberRepository
from tests.harness import EXAMPLE_CONFIG, Statements


@pytest.mark.parametrize("only_writer", [True, False])
async def test_a_newcomers_profile_is_not_read_again_after_their_language(database_url: str, only_writer: bool) -> None:
    database = Database(database_url)
    await database.upgrade()
    districts = DistrictDirectory(load_config(EXAMPLE_CONFIG).districts)
    try:
        service = SubscriptionService(SubscriberRepository(database), districts, only_writer=only_writer)
        statements = Statements(database)
        assert await service.stored_language(7) is None  # the language middleware, on a newcomer's /start
        assert await service.get(7) is None  # then /start's own lookup
        # The only writer knows nothing is stored; instances sharing the database must look again.
        assert len(statements.of("SELECT")) == (1 if only_writer else 2)
        await service.register_resident(7, "en")
        subscriber = await service.get(7)
        assert subscriber is not None and subscriber.language == "en", "a registered newcomer is found"
        await service.subscribe(8, "zh", ["heping"])  # a subscription creates the profile too
        assert await service.stored_language(8) == "zh"
        subscriber = await service.get(8)
        assert subscriber is not None and subscriber.districts == ("heping",)
    finally:
        await database.close()


async def test_remembering_every_language_at_start_makes_newcomers_free_until_the_cache_overflows(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(database_url)
    await database.upgrade()
    districts = DistrictDirectory(load_config(EXAMPLE_CONFIG).districts)
    repository = SubscriberRepository(database)
    try:
        for chat, language in ((1, "zh"), (2, "en"), (3, "zh")):
            await repository.upsert_profile(chat, language=language)
        monkeypatch.setattr("alertbot.services.subscriptions.LANGUAGE_CACHE_SIZE", 4)
        service = SubscriptionService(repository, districts)
        assert await service.remember_all() == 3
        statements = Statements(database)
        assert [await service.stored_language(chat) for chat in (1, 2, 3, 9)] == ["zh", "en", "zh", None]
        assert await service.get(9) is None
        assert statements.of("SELECT") == [], "every language is in memory: a newcomer costs no read"
        await service.subscribe(9, "en", ["heping"])
        assert await service.stored_language(9) == "en" and statements.of("SELECT") == []
        await service.subscribe(3, "en", ["heping"])  # a stored subscriber keeps their language
        assert await service.stored_language(3) == "zh"
        await service.register_resident(10, "zh")  # the fifth: the oldest leaves, so misses are looked up again
        del statements.seen[:]
        assert await service.stored_language(11) is None and statements.of("SELECT") == ["SELECT"]
        assert await service.stored_language(1) == "zh", "the one that left is read back from the database"

        monkeypatch.setattr("alertbot.services.subscriptions.LANGUAGE_CACHE_SIZE", 2)
        too_few = SubscriptionService(repository, districts)
        assert await too_few.remember_all() is None, "more subscribers than the cache holds: none loaded"
        del statements.seen[:]
        assert await too_few.stored_language(12) is None and statements.of("SELECT") == ["SELECT"]
    finally:
        await database.close()

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

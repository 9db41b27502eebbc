"""Who is in the sandbox: the four personas a person plays on the page, and the simulated population.

The population is drawn from a seed, spread over the configured districts: residents and businesses, in both
languages. Every one of them subscribes through the real bot at start, as a person would: most residents type
``/subscribe`` with their districts, the others and the businesses go through ``/start`` and its buttons (and a
business's name). Then some block the bot and a few delete their account, so a warning meets Telegram's 403s as
it would in a city.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from alertbot.core.domain import BusinessCategory, SubscriberKind
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.sandbox.setup import OFFICER_ID, SUPERVISOR_ID
from alertbot.telegram.callbacks import CategoryChoice, DistrictToggle, KindChoice, PickerDone, PickerMode

log = logging.getLogger(__name__)

JSON = dict[str, object]

POPULATION_FIRST_ID = 10_000_000
BLOCKED_SHARE = 0.03  # Telegram's 403 "bot was blocked by the user"
DELETED_SHARE = 0.01  # 403 "user is deactivated"
BUSINESS_SHARE = 0.15
CHINESE_SHARE = 0.7
ONBOARDING_AT_ONCE = 200  # simulated people talking to the bot at the same time while the population subscribes
REPLY_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Persona:
    """Someone the person at the page can be: a Telegram user with a private chat with the bot."""

    id: str
    user_id: int
    avatar: str
    language_code: str
    name: dict[str, str]
    role: dict[str, str]
    first_name: str

    def as_json(self) -> JSON:
        """What the page is told (the first name is what the bot sees)."""
        shown = asdict(self)
        del shown["first_name"]
        return shown


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "resident", 2001, "🏠", "zh-hans",
        {"zh": "和平区居民 · 李梅", "en": "Resident of Heping · Li Mei"}, {"zh": "居民", "en": "Resident"}, "李梅",
    ),
    Persona(
        "restaurant", 2002, "🍲", "zh-hans",
        {"zh": "餐馆老板 · 老王烧烤", "en": "Restaurant owner · Lao Wang BBQ"},
        {"zh": "商户", "en": "Business"}, "老王",
    ),
    Persona(
        "officer", OFFICER_ID, "🧑‍🚒", "en",
        {"zh": "值班员 · 张伟", "en": "Duty officer · Zhang Wei"}, {"zh": "值班员", "en": "Duty officer"}, "Zhang Wei",
    ),
    Persona(
        "supervisor", SUPERVISOR_ID, "🛂", "en",
        {"zh": "值班领导 · 刘洋", "en": "Supervisor · Liu Yang"}, {"zh": "审批人", "en": "Supervisor"}, "Liu Yang",
    ),
)  # fmt: skip
PERSONAS_BY_ID = {persona.id: persona for persona in PERSONAS}


@dataclass(frozen=True, slots=True)
class Simulated:
    """One member of the simulated population."""

    user_id: int
    language_code: str
    districts: tuple[str, ...]
    category: BusinessCategory | None = None  # a business, or a resident
    fate: str = "active"  # "active", "blocked" (blocks the bot after subscribing) or "deleted" (deletes the account)


def draw_population(size: int, district_ids: Sequence[str], seed: int = 2023) -> list[Simulated]:
    """*size* people over the districts, the same for the same seed: most in one district, some in two."""
    if size and not district_ids:
        raise ValueError("the population needs at least one configured district")
    rng = random.Random(seed)
    categories = list(BusinessCategory)
    people = []
    for number in range(size):
        districts = rng.sample(list(district_ids), k=min(len(district_ids), 2 if rng.random() < 0.2 else 1))
        category = rng.choice(categories) if rng.random() < BUSINESS_SHARE else None
        roll = rng.random()
        fate = "blocked" if roll < BLOCKED_SHARE else "deleted" if roll < BLOCKED_SHARE + DELETED_SHARE else "active"
        people.append(
            Simulated(
                user_id=POPULATION_FIRST_ID + number,
                language_code="zh-hans" if rng.random() < CHINESE_SHARE else "en",
                districts=tuple(districts),
                category=category,
                fate=fate,
            )
        )
    return people


@dataclass(slots=True)
class PopulationProgress:
    """How far the population's subscribing has come (the page shows it)."""

    total: int
    subscribed: int = 0
    blocked: int = 0
    deleted: int = 0
    failed: int = 0
    ready: bool = False

    def as_json(self) -> JSON:
        return asdict(self)


class Onboarding:
    """Drives the population through the real bot's onboarding, :data:`ONBOARDING_AT_ONCE` people at a time."""

    def __init__(self, api: FakeBotAPI, people: Sequence[Simulated]) -> None:
        self._api = api
        self._people = people
        self.progress = PopulationProgress(total=len(people))

    async def run(self) -> None:
        turns = asyncio.Semaphore(ONBOARDING_AT_ONCE)

        async def one(person: Simulated) -> None:
            async with turns:
                try:
                    await self._subscribe(person)
                except Exception as error:  # a person the bot did not answer: counted, the others go on
                    self.progress.failed += 1
                    log.warning("simulated person %d could not subscribe: %s", person.user_id, error)
                    return
            self.progress.subscribed += 1
            if person.fate == "blocked":
                self._api.block(person.user_id)
                self.progress.blocked += 1
            elif person.fate == "deleted":
                self._api.deactivate(person.user_id)
                self.progress.deleted += 1

        try:
            await asyncio.gather(*(one(person) for person in self._people))
        finally:
            self.progress.ready = True
        log.info(
            "sandbox population: %d subscribed (%d then blocked the bot, %d deleted their account), %d failed",
            self.progress.subscribed, self.progress.blocked, self.progress.deleted, self.progress.failed,
        )  # fmt: skip

    async def _subscribe(self, person: Simulated) -> None:
        """Most residents type ``/subscribe`` with their districts; businesses, and every fifth resident, take
        ``/start``: resident or business (category, name), the districts, Done — the bot's buttons, in order."""
        if person.category is None and person.user_id % 5:
            await self._say(person, f"/subscribe {' '.join(person.districts)}")
            return
        welcome = await self._say(person, "/start")
        if person.category is None:
            await self._tap(person, welcome, KindChoice(kind=SubscriberKind.RESIDENT).pack())
        else:
            await self._tap(person, welcome, KindChoice(kind=SubscriberKind.BUSINESS).pack())
            await self._tap(person, welcome, CategoryChoice(category=person.category).pack())
            welcome = await self._say(person, f"{person.category.value.replace('_', ' ').title()} {person.user_id}")
        for district in person.districts:
            await self._tap(person, welcome, DistrictToggle(mode=PickerMode.ONBOARDING, district=district).pack())
        await self._tap(person, welcome, PickerDone(mode=PickerMode.ONBOARDING).pack())

    async def _say(self, person: Simulated, text: str) -> JSON:
        """*text* from *person*; the bot's first message after it."""
        update = self._api.send_text(person.user_id, text, language_code=person.language_code, first_name="Sim")
        after = update["message"]["message_id"]
        return await self._api.wait_for_message(person.user_id, after=after, timeout=REPLY_TIMEOUT)

    async def _tap(self, person: Simulated, message: JSON, data: str) -> None:
        query = self._api.tap(person.user_id, message, data, language_code=person.language_code, first_name="Sim")
        await self._api.wait_for_answer(query, timeout=REPLY_TIMEOUT)

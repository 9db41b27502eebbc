"""Approval requests reach the supervisors, end to end: a warning near Telegram's 4096-character limit
is sent as the request (with the buttons) plus the text; a supervisor Telegram refuses is tried again on
later passes, never notified twice; when nobody can be reached the requester is told.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from alertbot.app import Application
from alertbot.config import AppConfig, load_config
from alertbot.content.telegram_html import MAX_TEXT_LENGTH, check_telegram_html
from alertbot.content.templates import MessageTemplates
from alertbot.core.domain import BroadcastStatus, Severity
from alertbot.core.errors import ConfigError
from alertbot.sandbox.botapi import ApiError, FakeBotAPI
from alertbot.services.container import build_services
from alertbot.services.drafts import AlertDraft
from tests.harness import EXAMPLE_CONFIG, Person, make_config, running_bot, seed_residents

OFFICER, SUPERVISOR, HEPING_SUPERVISOR = 1001, 1002, 1004
RESIDENT = 2001
Message = dict[str, Any]


EVERYWHERE = ("*",)  # every district: the longest header (all district names), and it needs approval


def explosion(districts: tuple[str, ...], details_length: int = 0) -> AlertDraft:
    filler = "Traffic is diverted via Zhonghua Road; follow the police. " * 20
    part = filler[:900].strip()
    variables = {"location": "太原北街 5 号一楼餐馆", "closed_roads": part, "hospital": part, "assistance": part,
                 "details": filler[:details_length].strip() + "."}  # fmt: skip
    return AlertDraft(template_id="gas_explosion", variables=variables, districts=districts, severity=Severity.EXTREME)


async def long_explosion(bot: Application, length: int = 3900) -> tuple[AlertDraft, str]:
    """A gas explosion warning to every district whose English text is `length` characters long, and that text."""
    draft = explosion(EVERYWHERE, 500)
    text = (await bot.services.alerts.preview(OFFICER, draft)).texts["en"]
    draft = explosion(EVERYWHERE, 500 + length - check_telegram_html(text))
    text = (await bot.services.alerts.preview(OFFICER, draft)).texts["en"]
    assert check_telegram_html(text) == length
    return draft, text


def config_with(api: FakeBotAPI, db_path: Path, *supervisors: tuple[int, list[str]]) -> AppConfig:
    officials = [o for o in load_config(EXAMPLE_CONFIG).model_dump(mode="python")["officials"]
                 if o["role"] != "supervisor"]  # fmt: skip
    officials += [{"telegram_id": t, "name": f"Supervisor {t}", "districts": d, "role": "supervisor"}
                  for t, d in supervisors]  # fmt: skip
    return make_config(
        api, db_path, dispatch={"progress_interval": 0.2}, officials=officials,  # type: ignore[arg-type]
    )  # fmt: skip


def requests_in(api: FakeBotAPI, chat_id: int, broadcast_id: int) -> list[Message]:
    """The approval requests (the messages with the Approve button) for this broadcast in this chat."""
    return [m for m in api.messages(chat_id) if f"apv:{broadcast_id}:1" in [d for _, d in api.buttons(m)]]


async def request_approval(bot: Application, draft: AlertDraft | None = None) -> int:
    await seed_residents(bot.database, [RESIDENT], ("heping",), "en")
    draft = draft or AlertDraft(
        template_id="gas_explosion", variables={"location": "太原北街 5 号"}, districts=("heping",),
        severity=Severity.EXTREME,
    )  # fmt: skip
    confirmation = await bot.services.alerts.confirm(OFFICER, draft)
    assert confirmation.outcome == "pending_approval"
    return confirmation.broadcast.id


async def test_warning_near_the_limit_reaches_the_supervisor_and_is_approved(api: FakeBotAPI, db_path: Path) -> None:
    config = config_with(api, db_path, (SUPERVISOR, ["*"]))
    async with running_bot(config) as bot:
        supervisor = Person(api, SUPERVISOR, "en")
        await supervisor.say("/language en")
        resident = Person(api, RESIDENT, "en")
        await resident.say("/subscribe heping")
        draft, text = await long_explosion(bot)

        number = await request_approval(bot, draft)
        header = await api.wait_for_message(SUPERVISOR, contains=f"#{number}", timeout=5)
        assert "Approval needed" in header["text"]
        assert [d for _, d in api.buttons(header)] == [f"apv:{number}:1", f"apv:{number}:0"]
        body = await api.wait_for_message(SUPERVISOR, after=header["message_id"], timeout=5)
        assert body["text"] == text  # exactly what subscribers will receive
        assert body["params"]["reply_parameters"]["message_id"] == header["message_id"]
        assert body["disable_notification"] is True  # the request itself is the notification
        assert check_telegram_html(header["text"]) + check_telegram_html(text) > MAX_TEXT_LENGTH
        assert not [e for m, p, e in api.errors if m == "sendMessage" and p.get("chat_id") == SUPERVISOR]
        await asyncio.sleep(0.6)  # more passes: sent once
        assert [m["message_id"] for m in api.messages(SUPERVISOR)][-2:] == [header["message_id"], body["message_id"]]
        assert len(requests_in(api, SUPERVISOR, number)) == 1

        await supervisor.tap(header, f"apv:{number}:1")
        assert "approved by Supervisor 1002" in supervisor.current(header)["text"]
        warning = await api.wait_for_message(RESIDENT, contains="Gas explosion", timeout=5)
        assert warning["text"] == text
        assert "批准" in (await api.wait_for_message(OFFICER, contains=f"#{number}", timeout=5))["text"]  # zh: default


async def test_short_request_stays_one_message(api: FakeBotAPI, db_path: Path) -> None:
    config = config_with(api, db_path, (SUPERVISOR, ["*"]))
    async with running_bot(config) as bot:
        number = await request_approval(bot)
        header = await api.wait_for_message(SUPERVISOR, contains=f"#{number}", timeout=5)
        assert "太原北街 5 号" in header["text"]  # the text is in the request itself
        await asyncio.sleep(0.6)  # more passes
        broadcast = await bot.services.broadcasts.get(number)
        assert broadcast is not None and broadcast.status is BroadcastStatus.PENDING_APPROVAL
        assert len(api.messages(SUPERVISOR)) == 1


async def test_supervisor_whose_chat_fails_once_gets_it_on_the_next_pass(api: FakeBotAPI, db_path: Path) -> None:
    config = config_with(api, db_path, (SUPERVISOR, ["*"]), (HEPING_SUPERVISOR, ["heping"]))
    api.fail_next("sendMessage", ApiError.server_error(), chat_id=HEPING_SUPERVISOR)
    async with running_bot(config) as bot:
        number = await request_approval(bot)
        await api.wait_for_message(SUPERVISOR, contains=f"#{number}", timeout=5)
        request = await api.wait_for_message(HEPING_SUPERVISOR, contains=f"#{number}", timeout=5)
        assert [str(e) for m, p, e in api.errors if p.get("chat_id") == HEPING_SUPERVISOR] == [
            "500 Internal Server Error"
        ]
        await asyncio.sleep(1.0)  # several more passes
        assert len(requests_in(api, SUPERVISOR, number)) == 1, "not notified twice"
        assert len(requests_in(api, HEPING_SUPERVISOR, number)) == 1
        assert await bot.services.broadcasts.unnotified_approvals() == []
        sent_to = [e.details.get("supervisor") for e in await bot.services.audit.entries()
                   if e.broadcast_id == number and e.action == "notify_approval"]  # fmt: skip
        assert sorted(sent_to) == [SUPERVISOR, HEPING_SUPERVISOR]

        await Person(api, HEPING_SUPERVISOR, "en").tap(request, f"apv:{number}:0")
        broadcast = await bot.services.broadcasts.get(number)
        assert broadcast is not None and broadcast.status is BroadcastStatus.REJECTED


async def test_requester_is_told_when_no_supervisor_can_be_reached(api: FakeBotAPI, db_path: Path) -> None:
    config = config_with(api, db_path, (SUPERVISOR, ["*"]), (HEPING_SUPERVISOR, ["heping"]))
    api.block(SUPERVISOR)
    api.forget_chat(HEPING_SUPERVISOR)
    async with running_bot(config) as bot:
        number = await request_approval(bot)
        told = await api.wait_for_message(OFFICER, contains=f"#{number}", timeout=10)
        assert "尚未送达" in told["text"] or "has not reached any supervisor" in told["text"], told["text"]
        await asyncio.sleep(1.0)
        assert len([m for m in api.messages(OFFICER) if f"#{number}" in m["text"]]) == 1, "told once"
        assert api.messages(SUPERVISOR) == [] and api.messages(HEPING_SUPERVISOR) == []

        # still pending: a supervisor who unblocks the bot gets the request on a later try
        api.unblock(SUPERVISOR)
        await api.wait_for_message(SUPERVISOR, contains=f"#{number}", timeout=10)
        broadcast = await bot.services.broadcasts.get(number)
        assert broadcast is not None and broadcast.status is BroadcastStatus.PENDING_APPROVAL


async def test_supervisors_notified_before_a_restart_are_not_notified_again(api: FakeBotAPI, db_path: Path) -> None:
    config = config_with(api, db_path, (SUPERVISOR, ["*"]), (HEPING_SUPERVISOR, ["heping"]))
    api.block(HEPING_SUPERVISOR)
    async with running_bot(config) as bot:
        number = await request_approval(bot)
        await api.wait_for_message(SUPERVISOR, contains=f"#{number}", timeout=5)
    api.unblock(HEPING_SUPERVISOR)
    async with running_bot(config):
        await api.wait_for_message(HEPING_SUPERVISOR, contains=f"#{number}", timeout=10)
        assert len(requests_in(api, SUPERVISOR, number)) == 1


# -- campaign follow-ups: the header above the reminder must fit too, checked when the config is loaded ------


def heating_campaign(details: str, **changes: Any) -> dict[str, Any]:
    return {"id": "heating", "template": "heating_season", "schedule": "0 9 * * 1", "districts": ["heping"],
            "ack": True, "follow_up_after": "3d", "variables": {"details": details}} | changes  # fmt: skip


def reminder_length(details: str) -> int:
    """The longer of the two languages' reminder, as Telegram counts it."""
    templates = MessageTemplates()
    values = {"details": details, "hotline": "", "districts": "Heping, 和平区", "issued_at": "2026-11-02 09:00"}
    return max(templates.render("heating_season", language, values).length for language in ("zh", "en"))


async def test_campaign_whose_follow_up_would_be_too_long_is_refused_at_start(api: FakeBotAPI, db_path: Path) -> None:
    filler = "Free home gas safety checks until 15 November. " * 80
    details = filler[: 4050 - reminder_length("x") + 1] + "x"  # the reminder fits, just
    assert reminder_length(details) == 4051
    config = make_config(api, db_path, campaigns=[heating_campaign(details)])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"campaigns\[0\]\.follow_up_after: the follow-up of 'heating' in en"):
        await build_services(config)

    # without a follow-up the same reminder is fine
    config = make_config(api, db_path, campaigns=[heating_campaign(details, follow_up_after=None)])  # type: ignore[arg-type]
    services = await build_services(config)
    await services.database.close()

"""CAP 1.2 both ways on a running bot: every kind exported and re-imported gives back its content, other
agencies' documents are imported or refused with a problem (never a 5xx), the feed lists exactly the current
Actual warnings, drafts reach the official's chat, nothing is sent twice or to the public for a Test."""

from __future__ import annotations

import dataclasses
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from alertbot.content import cap
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.drafts import AlertDraft
from tests.e2e.api_client import ApiClient, new_key
from tests.e2e.test_api import broadcast_count
from tests.harness import Person, make_config, running_bot, seed_residents, wait_until_done

OFFICER, SUPERVISOR = 1001, 1002
LEAK = {"location": "北二马路 12 号", "hotline": "96177", "details": "抢修人员已到场。"}
FIXTURES = Path(__file__).resolve().parent.parent / "data" / "cap"
HEPING = range(71_000, 71_012)
CAP_XML = {"Content-Type": "application/cap+xml"}


def content(alert: cap.Alert) -> list[tuple[object, ...]]:
    """What a CAP alert says, per info: everything but who sent it when and under which identifier."""
    return [
        (i.language, i.categories, i.event, i.response_types, i.urgency, i.severity, i.certainty, i.headline,
         i.description, i.instruction, i.contact, tuple((a.description, a.geocodes) for a in i.areas))
        for i in alert.infos
    ]  # fmt: skip


async def exported(client: ApiClient, broadcast_id: int) -> cap.Alert:
    status, body, headers = await client.call("GET", f"/api/v1/alerts/{broadcast_id}/cap")
    assert status == 200 and headers["Content-Type"].startswith("application/cap+xml"), body
    return cap.loads(body.encode())


async def post_cap(client: ApiClient, document: bytes) -> tuple[int, dict[str, object]]:
    status, body, _ = await client.call("POST", "/api/v1/cap", data=document, headers=CAP_XML)
    return status, body


def as_new(alert: cap.Alert, suffix: str) -> bytes:
    """The document as another system would re-issue it: its own identifier (alertbot's references kept)."""
    return cap.dumps(dataclasses.replace(alert, sender="platform@example.cn", identifier=f"re-{suffix}"))


async def test_every_kind_exported_and_reimported_gives_back_its_content(api: FakeBotAPI, db_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        await seed_residents(bot.database, HEPING, ("heping",))
        client = ApiClient(bot, await new_key(bot, "platform", SUPERVISOR, "send"))
        alerts = bot.services.alerts
        warning = (await alerts.confirm(OFFICER, AlertDraft("gas_leak", LEAK, ("heping",)))).broadcast
        await wait_until_done(bot, warning.id)
        original = await exported(client, warning.id)
        assert original.msg_type == "Alert" and original.status == "Actual" and original.scope == "Public"
        assert [i.language for i in original.infos] == ["zh-CN", "en-US"]
        zh = original.infos[0]
        assert (zh.categories, zh.event, zh.response_types) == (("Safety",), "Gas leak", ("Evacuate",))
        assert (zh.urgency, zh.severity, zh.certainty) == ("Immediate", "Severe", "Observed")
        assert zh.headline == "燃气泄漏" and "北二马路 12 号" in (zh.description or "")
        assert zh.instruction and zh.instruction.startswith("•") and "抢修人员已到场" in (zh.description or "")
        assert zh.areas[0].description == "和平区" and zh.areas[0].geocodes == (cap.Geocode("GB/T 2260", "210102"),)
        assert original.sent.utcoffset() is not None and original.sent.utcoffset().total_seconds() == 8 * 3600
        assert original.infos[0].expires is not None and original.infos[0].expires > original.sent

        status, body = await post_cap(client, as_new(original, "alert"))
        assert status == 201, body
        again = await exported(client, body["alert"]["id"])  # type: ignore[index]
        assert content(again) == content(original)
        await wait_until_done(bot, body["alert"]["id"])  # type: ignore[index]

        # follow-ups of the first warning: the chat's own, exported, then re-imported as another system's
        for template, variables, msg_type in (("update", {"details": "泄漏点已关闭。"}, "Update"),
                                              ("all_clear", {}, "Update")):  # fmt: skip
            draft = await alerts.follow_up_draft(OFFICER, warning.id, template)
            made = (await alerts.confirm(OFFICER, dataclasses.replace(draft, variables=variables))).broadcast
            await wait_until_done(bot, made.id)
            document = await exported(client, made.id)
            assert document.msg_type == msg_type
            assert document.references[0].identifier == f"alertbot-{warning.id}"
            assert ("AllClear" in document.infos[0].response_types) == (template == "all_clear")
            status, body = await post_cap(client, as_new(document, template))
            assert status == 201, body
            follow_up = body["alert"]
            assert follow_up["follows_id"] == warning.id  # type: ignore[index]
            again = await exported(client, follow_up["id"])  # type: ignore[index]
            assert again.msg_type == msg_type and content(again) == content(document)
            assert again.references[0].identifier == f"alertbot-{warning.id}"
            await wait_until_done(bot, follow_up["id"])  # type: ignore[index]

        draft = await alerts.follow_up_draft(OFFICER, warning.id, "sent_in_error")
        mistake = (await alerts.confirm(OFFICER, draft)).broadcast
        cancel = await exported(client, mistake.id)
        assert cancel.msg_type == "Cancel"
        assert cancel.references[0].identifier == f"alertbot-{warning.id}"
        assert all(r.sender == "alertbot@example.org" for r in cancel.references)
        # the imported warning, cancelled by its sender: Sent in error of it
        imported_alert = cap.loads(as_new(original, "alert"))
        withdrawal = dataclasses.replace(
            imported_alert, identifier="re-cancel", msg_type="Cancel",
            references=(cap.Reference(imported_alert.sender, imported_alert.identifier, imported_alert.sent),),
        )  # fmt: skip
        status, body = await post_cap(client, cap.dumps(withdrawal))
        assert status == 201, body
        correction = await exported(client, body["alert"]["id"])  # type: ignore[index]
        assert correction.msg_type == "Cancel" and content(correction)[0][-1] == content(cancel)[0][-1]
        for document in (original, again, cancel, correction):
            cap.validate(document)


async def test_other_agencies_documents_are_imported_or_refused_never_a_5xx(api: FakeBotAPI, db_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        await seed_residents(bot.database, HEPING, ("heping",))
        client = ApiClient(bot, await new_key(bot, "platform", OFFICER, "send"))
        outcomes = {}
        for path in sorted(p for p in FIXTURES.glob("*.xml") if not p.name.startswith("shenyang")):
            status, body = await post_cap(client, path.read_bytes())
            assert status < 500, (path.name, body)
            outcomes[path.name] = (status, body.get("outcome") or body.get("field"))
            if status >= 400:
                assert body["detail"] and body["field"], (path.name, body)
        # none of them is for Shenyang: each refused naming the area (or what comes before it)
        assert all(status == 422 for status, _ in outcomes.values()), outcomes
        assert outcomes["oasis_homeland_security.xml"][1].startswith("alert/info[1]/area"), outcomes
        assert outcomes["ntwc_tsunami_cancellation.xml"] == (422, "alert/references"), outcomes

        shenyang = (FIXTURES / "shenyang_gas_leak.xml").read_bytes()
        status, body = await post_cap(client, shenyang)
        assert status == 201 and body["outcome"] == "queued", body
        sent = await exported(client, body["alert"]["id"])  # type: ignore[index]
        assert [a.description for a in sent.infos[0].areas] == ["和平区", "沈河区"]
        again = await post_cap(client, shenyang)  # the same message again: nothing more is sent
        assert again[0] == 200 and again[1]["outcome"] == "duplicate", again
        assert again[1]["alert"]["id"] == body["alert"]["id"]  # type: ignore[index]
        count = await broadcast_count(bot)

        test = shenyang.replace(b"<status>Actual</status>", b"<status>Test</status>").replace(
            b"SYEMB-2026-1203-001", b"SYEMB-2026-1203-T01"
        )
        status, body = await post_cap(client, test)
        assert (status, body["outcome"]) == (200, "not_sent"), body
        assert await broadcast_count(bot) == count  # a Test never reaches the public

        laughs = (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(
                b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10)
            )
            + b']><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol9;</alert>'
        )
        started = time.monotonic()
        status, body = await post_cap(client, laughs)
        assert status == 422 and body["field"] == "document" and time.monotonic() - started < 2, body
        status, body = await post_cap(
            client, shenyang.replace(b"<urgency>Immediate</urgency>", b"<urgency>Now</urgency>", 1)
        )
        assert status == 422 and body["field"] == "alert/info[1]/urgency", body
        status, body = await post_cap(client, b"<alert>" + b"x" * 600_000 + b"</alert>")
        assert status == 413, body
        no_import = ApiClient(bot, await new_key(bot, "reader", OFFICER))
        status, body, _ = await no_import.call("POST", "/api/v1/cap", data=shenyang, headers=CAP_XML)
        assert status == 403, body


async def test_the_feed_lists_exactly_the_current_actual_warnings(api: FakeBotAPI, db_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        await seed_residents(bot.database, HEPING, ("heping",))
        alerts = bot.services.alerts

        async def send(location: str, **extra: object) -> int:
            draft = AlertDraft("gas_leak", {**LEAK, "location": location}, ("heping",), **extra)  # type: ignore[arg-type]
            broadcast = (await alerts.confirm(OFFICER, draft)).broadcast
            await wait_until_done(bot, broadcast.id)
            return broadcast.id

        current, drill, cancelled = await send("一"), await send("二", exercise=True), await send("三")
        draft = await alerts.follow_up_draft(OFFICER, cancelled, "sent_in_error")
        await alerts.confirm(OFFICER, draft)
        update = await alerts.follow_up_draft(OFFICER, current, "update")
        await alerts.confirm(OFFICER, dataclasses.replace(update, variables={"details": "仍在处置。"}))

        status, body, headers = await ApiClient(bot, None).call("GET", "/cap/feed.atom")
        assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
        atom = "{http://www.w3.org/2005/Atom}"
        entries = ET.fromstring(body.encode()).findall(f"{atom}entry")
        links = [e.find(f"{atom}link").get("href") for e in entries]  # type: ignore[union-attr]
        assert [link.rsplit("/", 1)[-1] for link in links] == [f"{current}.xml"], links
        status, document, _ = await ApiClient(bot, None).call(
            "GET", links[0].removeprefix(f"http://127.0.0.1:{bot.server.port}")
        )
        assert status == 200 and cap.loads(document.encode()).identifier == f"alertbot-{current}"
        assert (await ApiClient(bot, None).call("GET", f"/cap/alerts/{drill}.xml"))[0] == 404  # drills are not public


async def test_a_cap_draft_reaches_the_officials_chat_and_is_confirmed_there(api: FakeBotAPI, db_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        await seed_residents(bot.database, HEPING, ("heping",))
        client = ApiClient(bot, await new_key(bot, "detector", OFFICER, "draft"))
        officer = Person(api, OFFICER)
        status, body = await post_cap(client, (FIXTURES / "shenyang_gas_leak.xml").read_bytes())
        assert status == 202 and body["outcome"] == "draft" and body["preview"]["total"] == 12, body  # type: ignore[index]
        assert await broadcast_count(bot) == 0
        question = await _wait_for_buttons(api, officer)
        assert any("SYEMB-2026-1203-001" in m["text"] for m in officer.messages)
        await officer.tap(question, officer.button_texts(question)[0])
        await api.wait_until(lambda: all(api.messages(chat) for chat in HEPING), timeout=15)
        assert "北二马路" in api.messages(HEPING[0])[-1]["text"]


async def _wait_for_buttons(api: FakeBotAPI, person: Person) -> dict[str, object]:
    await api.wait_until(lambda: any(m.get("reply_markup") for m in person.messages), timeout=10)
    return next(m for m in reversed(person.messages) if m.get("reply_markup"))

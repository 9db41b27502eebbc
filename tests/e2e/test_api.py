"""The HTTP API of a running bot, end to end: keys from the CLI, preview, idempotent send, status, follow-up,
cancel, audit; every refusal once; the two-person rule through the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from alertbot.config import ApiConfig
from alertbot.content import cap
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.drafts import AlertDraft
from alertbot.storage.tables import broadcasts
from tests.e2e.api_client import ApiClient, alertbot_cli, cli_config, new_key
from tests.harness import make_config, running_bot, seed_residents, wait_until_done

OFFICER, SUPERVISOR, TIEXI_OFFICER = 1001, 1002, 1003
LEAK = {"location": "北二马路 12 号", "hotline": "96177"}
WARNING = {"template": "gas_leak", "variables": LEAK, "districts": ["heping"]}


async def broadcast_count(bot) -> int:  # type: ignore[no-untyped-def]
    async with bot.database.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(broadcasts)))


async def test_the_whole_api_flow(api: FakeBotAPI, db_path: Path, tmp_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        await seed_residents(bot.database, range(70_000, 70_030), ("heping",))
        config = cli_config(bot, tmp_path)
        created = await alertbot_cli(config, "api-keys", "create", "--name", "scada-heping", "--as", str(OFFICER))
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert key.startswith("abk_") and "shown once" in created.stderr
        listed = await alertbot_cli(config, "api-keys", "list")
        assert "scada-heping" in listed.stdout and key not in listed.stdout
        client = ApiClient(bot, key)

        status, document, _ = await ApiClient(bot, None).call("GET", "/api/v1/openapi.json")
        assert (
            status == 200 and document["openapi"] == "3.1.0" and "/api/v1/alerts/{id}/follow-ups" in document["paths"]
        )
        status, page, _ = await ApiClient(bot, None).call("GET", "/api/docs")
        assert status == 200 and all(f"<code>{m.upper()} {p}</code>" in page
                                     for p, ops in document["paths"].items() for m in ops)  # fmt: skip
        status, templates, _ = await client.call("GET", "/api/v1/templates")
        assert status == 200 and "gas_leak" in {t["id"] for t in templates}
        assert "cap_alert" not in {t["id"] for t in templates}

        status, preview, _ = await client.call("POST", "/api/v1/alerts/preview", json=WARNING)
        assert status == 200, preview
        assert preview["total"] == 30 and preview["needs_approval"] is False
        assert "北二马路 12 号" in preview["texts"]["zh"] and "北二马路 12 号" in preview["texts"]["en"]
        assert preview["eta"]["seconds"] > 0
        assert await broadcast_count(bot) == 0  # a preview sends nothing

        headers = {"Idempotency-Key": "leak-2026-12-03-0815"}
        first = await client.call("POST", "/api/v1/alerts", json=WARNING, headers=headers)
        again = await client.call("POST", "/api/v1/alerts", json=WARNING, headers=headers)
        assert first[0] == again[0] == 201, (first[1], again[1])
        assert first[1]["alert"]["id"] == again[1]["alert"]["id"]
        assert first[2]["Location"] == f"/api/v1/alerts/{first[1]['alert']['id']}"
        assert await broadcast_count(bot) == 1
        other = {**WARNING, "variables": {**LEAK, "location": "太原北街"}}
        status, problem, _ = await client.call("POST", "/api/v1/alerts", json=other, headers=headers)
        assert status == 409 and problem["field"] == "Idempotency-Key"
        assert await broadcast_count(bot) == 1  # nothing half-done

        warning_id = first[1]["alert"]["id"]
        await wait_until_done(bot, warning_id)
        status, alert, _ = await client.call("GET", f"/api/v1/alerts/{warning_id}")
        assert status == 200 and alert["counts"]["sent"] == 30 and alert["counts"]["pending"] == 0

        status, document, _ = await client.call("GET", f"/api/v1/alerts/{warning_id}/cap")
        assert status == 200
        exported = cap.loads(document.encode())
        assert exported.msg_type == "Alert" and exported.status == "Actual"

        update = {"template": "update", "variables": {"details": "泄漏点已关闭。"}}
        status, made, _ = await client.call("POST", f"/api/v1/alerts/{warning_id}/follow-ups", json=update)
        assert status == 201, made
        follow_up = made["alert"]
        assert follow_up["follows_id"] == warning_id and follow_up["kind"] == "follow_up"

        later = {**WARNING, "send_at": "2099-01-01T08:00:00+08:00"}
        status, problem, _ = await client.call("POST", "/api/v1/alerts", json=later, headers={"Idempotency-Key": "x"})
        assert status == 422 and problem["field"] == "send_at"
        await wait_until_done(bot, follow_up["id"])
        scheduled = {**WARNING, "variables": {**LEAK, "location": "青年大街"}, "send_at": _in_an_hour()}
        status, made, _ = await client.call(
            "POST", "/api/v1/alerts", json=scheduled, headers={"Idempotency-Key": "later-1"}
        )
        assert status == 201, made
        status, cancelled, _ = await client.call("POST", f"/api/v1/alerts/{made['alert']['id']}/cancel")
        assert status == 200 and cancelled["cancelled_deliveries"] == 30
        assert cancelled["alert"]["withdrawn_at"] is not None

        supervisor = ApiClient(bot, await new_key(bot, "duty-room", SUPERVISOR))
        status, page, _ = await supervisor.call("GET", "/api/v1/audit")
        assert status == 200
        by_key = [e for e in page["entries"] if e["details"].get("via") == "api:scada-heping"]
        assert {"compose", "send", "follow_up", "schedule", "cancel"} <= {e["action"] for e in by_key}
        assert all(e["actor_id"] == OFFICER for e in by_key)
        calls = [(e["details"]["method"], e["details"]["path"], e["details"]["status"])
                 for e in by_key if e["action"] == "api_call"]  # fmt: skip
        assert ("GET", "/api/v1/templates", 200) in calls and ("POST", "/api/v1/alerts", 409) in calls
        assert ("GET", f"/api/v1/alerts/{warning_id}/cap", 200) in calls

        status, stats, _ = await client.call("GET", "/api/v1/stats")
        assert status == 200
        assert next(d for d in stats["districts"] if d["district"] == "heping")["residents"] == 30

        revoked = await alertbot_cli(config, "api-keys", "revoke", "scada-heping")
        assert revoked.returncode == 0, revoked.stderr
        status, problem, headers_ = await client.call("GET", "/api/v1/templates")
        assert status == 401 and headers_["WWW-Authenticate"].startswith("Bearer")


def _in_an_hour() -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).isoformat()


async def test_each_refusal_once(api: FakeBotAPI, db_path: Path) -> None:
    config = make_config(api, db_path)
    async with running_bot(config.model_copy(update={"api": ApiConfig(requests_per_minute=8)})) as bot:
        await seed_residents(bot.database, range(70_100, 70_105), ("heping",))
        client = ApiClient(bot, await new_key(bot, "scada", OFFICER))
        tiexi = ApiClient(bot, await new_key(bot, "tiexi", TIEXI_OFFICER))

        status, problem, headers = await client.call("GET", "/api/v1/templates", key="")
        assert status == 401 and headers["Content-Type"].startswith("application/problem+json")
        assert problem["status"] == 401 and problem["title"] == "Unauthorized"
        assert (await client.call("GET", "/api/v1/templates", key="abk_wrong"))[0] == 401

        status, problem, _ = await tiexi.call("POST", "/api/v1/alerts/preview", json=WARNING)
        assert status == 403 and problem["field"] == "districts", problem
        audited = await bot.services.audit.entries()
        assert any(e.action == "refused" and e.details.get("via") == "api:tiexi" for e in audited)

        big = {**WARNING, "variables": {"location": "x" * 70_000, "hotline": "1"}}
        status, problem, _ = await tiexi.call("POST", "/api/v1/alerts/preview", json=big)
        assert status == 413, problem

        bad = {**WARNING, "template": "no_such_template"}
        status, problem, _ = await tiexi.call("POST", "/api/v1/alerts/preview", json=bad)
        assert status == 422 and problem["field"] == "template", problem
        status, problem, _ = await tiexi.call("POST", "/api/v1/alerts/preview", json={**WARNING, "districts": []})
        assert status == 422 and problem["field"] == "districts", problem
        missing = {**WARNING, "variables": {"location": "北二马路"}}
        status, problem, _ = await client.call("POST", "/api/v1/alerts/preview", json=missing)
        assert status == 422 and problem["field"] == "variables.hotline", problem

        status, problem, _ = await client.call("POST", "/api/v1/alerts", json=WARNING)
        assert status == 428 and problem["field"] == "Idempotency-Key"
        status, problem, _ = await client.call(
            "POST", "/api/v1/alerts/preview", data="{", headers={"Content-Type": "application/json"}
        )
        assert status == 400
        status, problem, _ = await client.call(
            "POST", "/api/v1/alerts/preview", data="x", headers={"Content-Type": "text/plain"}
        )
        assert status == 415
        assert (await client.call("GET", "/api/v1/alerts/999999"))[0] == 404

        for _ in range(8):  # the 9th request of this key within a minute
            await tiexi.call("GET", "/api/v1/templates")
        status, problem, headers = await tiexi.call("GET", "/api/v1/templates")
        assert status == 429 and int(headers["Retry-After"]) >= 1, problem
        assert (await client.call("GET", "/api/v1/templates"))[0] == 200  # per key
        assert await broadcast_count(bot) == 0

        # reading an alert outside one's districts: refused by the service, and audited like any refusal
        made = await bot.services.alerts.confirm(OFFICER, AlertDraft("gas_leak", LEAK, ("heping",)))
        other_tiexi = ApiClient(bot, await new_key(bot, "tiexi-2", TIEXI_OFFICER))
        for path in (f"/api/v1/alerts/{made.broadcast.id}", f"/api/v1/alerts/{made.broadcast.id}/cap"):
            status, problem, _ = await other_tiexi.call("GET", path)
            assert status == 403, problem
        refusals = [
            e for e in await bot.services.audit.entries() if e.action == "refused" and e.actor_id == TIEXI_OFFICER
        ]
        assert {e.details.get("attempted") for e in refusals} >= {"status", "cap"}
        assert all(
            e.broadcast_id == made.broadcast.id for e in refusals if e.details.get("attempted") in ("status", "cap")
        )


async def test_the_two_person_rule_holds_through_the_api(api: FakeBotAPI, db_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        await seed_residents(bot.database, range(70_200, 70_210), ("heping",))
        officer = ApiClient(bot, await new_key(bot, "officer", OFFICER))
        supervisor = ApiClient(bot, await new_key(bot, "supervisor", SUPERVISOR))
        explosion = {"template": "gas_explosion", "districts": ["heping"],
                     "variables": {"location": "太原北街 5 号"}}  # fmt: skip
        status, made, _ = await officer.call(
            "POST", "/api/v1/alerts", json=explosion, headers={"Idempotency-Key": "boom"}
        )
        assert status == 202 and made["outcome"] == "pending_approval", made
        alert_id = made["alert"]["id"]
        status, problem, _ = await officer.call("POST", f"/api/v1/alerts/{alert_id}/decision", json={"approve": True})
        assert status == 403, problem
        await asyncio.sleep(0.3)
        assert api.messages(70_200) == []  # still waiting
        status, approved, _ = await supervisor.call(
            "POST", f"/api/v1/alerts/{alert_id}/decision", json={"approve": True}
        )
        assert status == 200 and approved["status"] == "queued" and approved["approved_by"] == SUPERVISOR
        await wait_until_done(bot, alert_id)

        own = {**explosion, "variables": {"location": "中街"}}
        status, made, _ = await supervisor.call("POST", "/api/v1/alerts", json=own, headers={"Idempotency-Key": "own"})
        assert status == 202
        status, problem, _ = await supervisor.call(
            "POST", f"/api/v1/alerts/{made['alert']['id']}/decision", json={"approve": True}
        )
        assert status == 403 and "own" in problem["detail"], problem
        status, problem, _ = await supervisor.call(
            "POST", f"/api/v1/alerts/{alert_id}/decision", json={"approve": True}
        )
        assert status == 409, problem  # decided already


async def test_one_idempotency_key_makes_one_alert_even_at_once(api: FakeBotAPI, db_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        await seed_residents(bot.database, range(70_300, 70_305), ("heping",))
        client = ApiClient(bot, await new_key(bot, "scada", OFFICER))
        headers = {"Idempotency-Key": "burst"}
        answers = await asyncio.gather(
            *(client.call("POST", "/api/v1/alerts", json=WARNING, headers=headers) for _ in range(5))
        )
        statuses = sorted(status for status, _, _ in answers)
        assert statuses[0] == 201 and set(statuses) <= {201, 409}, answers
        ids = {body["alert"]["id"] for status, body, _ in answers if status == 201}
        assert len(ids) == 1 and await broadcast_count(bot) == 1
        busy = [body for status, body, _ in answers if status == 409]
        assert all(b["field"] == "Idempotency-Key" for b in busy)

        # a refused request makes nothing and keeps nothing: the key may be sent again, corrected
        wrong = {**WARNING, "variables": {"location": "中街"}}
        status, problem, _ = await client.call("POST", "/api/v1/alerts", json=wrong, headers={"Idempotency-Key": "k2"})
        assert status == 422 and problem["field"] == "variables.hotline"
        fixed = {**WARNING, "variables": {"location": "中街", "hotline": "96177"}}
        status, made, _ = await client.call("POST", "/api/v1/alerts", json=fixed, headers={"Idempotency-Key": "k2"})
        assert status == 201 and await broadcast_count(bot) == 2, made

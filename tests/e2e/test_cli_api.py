"""The CLI commands of the API issue against a running bot's database: `alert follow-up`, `alert cap`, and
`api-keys` refusing what it cannot do (nothing half-made)."""

from __future__ import annotations

from pathlib import Path

from alertbot.content import cap
from alertbot.sandbox.botapi import FakeBotAPI
from alertbot.services.drafts import AlertDraft
from tests.e2e.api_client import alertbot_cli, cli_config
from tests.harness import make_config, running_bot, seed_residents, wait_until_done

OFFICER, TIEXI_OFFICER = 1001, 1003
LEAK = {"location": "北二马路 12 号", "hotline": "96177"}


async def test_follow_up_and_cap_from_the_cli(api: FakeBotAPI, db_path: Path, tmp_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        chats = range(73_000, 73_006)
        await seed_residents(bot.database, chats, ("heping",))
        warning = (await bot.services.alerts.confirm(OFFICER, AlertDraft("gas_leak", LEAK, ("heping",)))).broadcast
        await wait_until_done(bot, warning.id)
        config = cli_config(bot, tmp_path)

        shown = await alertbot_cli(config, "alert", "cap", str(warning.id))
        assert shown.returncode == 0, shown.stderr
        document = cap.loads(shown.stdout.encode())
        assert document.identifier == f"alertbot-{warning.id}" and document.infos[1].headline == "Gas leak"

        refused = await alertbot_cli(
            config, "alert", "follow-up", str(warning.id), "-t", "update", "--var", "details=x", "--yes",
            "--as", str(TIEXI_OFFICER),
        )  # fmt: skip
        assert refused.returncode != 0 and "outside your scope" in refused.stderr, refused.stderr
        made = await alertbot_cli(
            config, "alert", "follow-up", str(warning.id), "-t", "update", "--var", "details=泄漏点已关闭。",
            "--yes", "--as", str(OFFICER),
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert "泄漏点已关闭。" in made.stdout and "queued" in made.stdout
        follow_up_id = int(made.stdout.split("broadcast ")[-1].split()[0])
        await wait_until_done(bot, follow_up_id)
        assert all("泄漏点已关闭。" in api.messages(chat)[-1]["text"] for chat in chats)
        update = await alertbot_cli(config, "alert", "cap", str(follow_up_id))
        follow_up = cap.loads(update.stdout.encode())
        assert follow_up.msg_type == "Update" and follow_up.references[0].identifier == f"alertbot-{warning.id}"
        missing = await alertbot_cli(config, "alert", "cap", "99999")
        assert missing.returncode == 1 and "99999" in missing.stderr


async def test_api_keys_refuse_what_they_cannot_do(api: FakeBotAPI, db_path: Path, tmp_path: Path) -> None:
    async with running_bot(make_config(api, db_path)) as bot:
        config = cli_config(bot, tmp_path)
        bad = await alertbot_cli(config, "api-keys", "create", "--name", "has space", "--as", str(OFFICER))
        assert bad.returncode == 2 and "bad key name" in bad.stderr
        nobody = await alertbot_cli(config, "api-keys", "create", "--name", "x", "--as", "4242")
        assert nobody.returncode != 0 and "not an official" in nobody.stderr
        first = await alertbot_cli(config, "api-keys", "create", "--name", "scada", "--as", str(OFFICER))
        assert first.returncode == 0
        again = await alertbot_cli(config, "api-keys", "create", "--name", "scada", "--as", str(OFFICER))
        assert again.returncode == 2 and "exists already" in again.stderr and not again.stdout
        assert [k.name for k in await bot.services.api_keys.all()] == ["scada"]
        unknown = await alertbot_cli(config, "api-keys", "revoke", "nope")
        assert unknown.returncode == 1 and "no active key" in unknown.stderr
        listed = await alertbot_cli(config, "api-keys", "list", "--json")
        assert '"name": "scada"' in listed.stdout and first.stdout.strip() not in listed.stdout

"""AlertService writes a warning and its audit entry in one unit of work: both, or neither."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from alertbot.config import AppConfig
from alertbot.services.container import build_services
from alertbot.services.drafts import AlertDraft
from alertbot.storage.tables import broadcasts, deliveries
from tests.harness import seed_residents

OFFICER = 1001
LEAK = {"location": "北二马路 12 号", "hotline": "96177"}


async def test_a_warning_whose_audit_entry_cannot_be_written_is_not_queued(config: AppConfig, db_path: Path) -> None:
    services = await build_services(config)
    try:
        await seed_residents(services.database, range(5000, 5010), ("heping",))
        async with services.database.transaction() as conn:  # the audit log refuses every new entry
            if services.database.is_sqlite:
                await conn.execute(sa.text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit down'); END"
                ))  # fmt: skip
            else:
                await conn.execute(sa.text(
                    "CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$ "
                    "LANGUAGE plpgsql"
                ))  # fmt: skip
                await conn.execute(sa.text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION no_audit()"
                ))  # fmt: skip
        draft = AlertDraft(template_id="gas_leak", variables=LEAK, districts=("heping",))
        with pytest.raises(sa.exc.DBAPIError, match="audit down"):
            await services.alerts.confirm(OFFICER, draft)
        async with services.database.connect() as conn:
            written = (await conn.execute(sa.select(sa.func.count()).select_from(broadcasts))).scalar_one()
            queued = (await conn.execute(sa.select(sa.func.count()).select_from(deliveries))).scalar_one()
        assert (written, queued) == (0, 0), "a warning was queued without its audit entry"
    finally:
        await services.database.close()

"""Logging masks the bot token."""

from __future__ import annotations

import pytest


def test_logs_mask_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from alertbot.core.logs import configure_logging

    token = "123456:SECRET-token-value"
    configure_logging("INFO", secrets=[token])
    log = logging.getLogger("alertbot.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", token)
    try:
        raise RuntimeError(f"request to /bot{token}/sendMessage failed")
    except RuntimeError:
        log.exception("failed")
    logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "SECRET-token-value" not in err
    assert err.count("/bot***/") == 2

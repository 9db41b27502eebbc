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


def test_json_logs_are_one_object_per_line_without_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import logging

    from alertbot.core.logs import configure_logging

    token = "123456:SECRET-token-value"
    configure_logging("INFO", secrets=[token, "hook-secret"], format="json")
    log = logging.getLogger("alertbot.test")
    log.info("calling /bot%s/getMe with\nsecret %s", token, "hook-secret")
    try:
        raise RuntimeError(f"request to /bot{token}/sendMessage failed")
    except RuntimeError:
        log.exception("failed: 和平区")
    log.debug("not at INFO")
    logging.getLogger().handlers.clear()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "alertbot.test"
    assert first["message"] == "calling /bot***/getMe with\nsecret ***"
    assert first["time"].endswith("+00:00")
    assert second["message"] == "failed: 和平区"
    assert "RuntimeError: request to /bot***/sendMessage failed" in second["exception"]
    assert "SECRET" not in "\n".join(lines) and "hook-secret" not in "\n".join(lines)

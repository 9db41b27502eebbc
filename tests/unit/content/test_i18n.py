"""The Fluent catalogs and the choice of a person's language."""

from __future__ import annotations

import pytest

from alertbot.content.i18n import Translator, language_for
from alertbot.core.domain import LANGUAGES


def test_language_for() -> None:
    assert language_for("zh-hans", "en") == "zh"
    assert language_for("zh-TW", "en") == "zh"
    assert language_for("ru", "zh") == "en"
    assert language_for(None, "zh") == "zh"


def test_ui_catalogs_define_the_same_messages() -> None:
    translator = Translator()
    zh, en = (translator.message_ids(language) for language in LANGUAGES)
    assert zh == en
    assert len(zh) > 50


def test_messages_with_and_without_arguments_format_every_time_as_their_arguments_say() -> None:
    translator = Translator()
    assert translator("en", "picker-done") == translator("en", "picker-done") != translator("zh", "picker-done")
    assert "12" in translator("en", "ask-business-name", max=12)
    assert "30" in translator("en", "ask-business-name", max=30), "a message with arguments is never reused"
    with pytest.raises(ValueError, match="max"):
        translator("en", "ask-business-name")  # its argument missing: an error each time, nothing remembered
    with pytest.raises(ValueError, match="max"):
        translator("en", "ask-business-name")

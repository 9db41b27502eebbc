"""The Fluent catalogs and the choice of a person's language."""

from __future__ import annotations

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

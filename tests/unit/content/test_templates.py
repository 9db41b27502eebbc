"""MessageTemplates: variables escaped and required."""

from __future__ import annotations

import pytest

from alertbot.content.templates import SYSTEM_SAMPLES, MessageTemplates
from alertbot.core.errors import TemplateProblem


def test_template_variables_are_escaped_and_required() -> None:
    templates = MessageTemplates()
    en, zh = SYSTEM_SAMPLES["en"], SYSTEM_SAMPLES["zh"]
    rendered = templates.render("gas_leak", "en", en | {"location": "<b>x</b>", "hotline": "96177"})
    assert "&lt;b&gt;x&lt;/b&gt;" in rendered.text
    with pytest.raises(TemplateProblem, match="hotline"):
        templates.render("gas_leak", "zh", zh | {"location": "x"})
    with pytest.raises(TemplateProblem, match=r"allows 4096"):
        templates.render("gas_leak", "en", en | {"location": "x" * 5000, "hotline": "1"})

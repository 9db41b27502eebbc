"""Telegram's HTML parse mode: length after parsing and refused markup."""

from __future__ import annotations

import pytest

from alertbot.content.telegram_html import TelegramHtmlError, check_telegram_html


@pytest.mark.parametrize(
    ("text", "length"),
    [("<b>a</b> &amp; b", 5), ("😀", 2), ("a &lt;b&gt;", 5), ('<a href="https://x.cn">x</a>', 1),
     ('<span class="tg-spoiler">s</span>', 1), ("<blockquote expandable>q</blockquote>", 1)],
)  # fmt: skip
def test_telegram_html_length(text: str, length: int) -> None:
    assert check_telegram_html(text) == length


@pytest.mark.parametrize(
    "text", ["<script>x</script>", "a < b", "AT&T", "<b>open", "<b><i>x</b></i>", "", "<b> </b>", "x" * 4097]
)
def test_telegram_html_refused(text: str) -> None:
    with pytest.raises(TelegramHtmlError):
        check_telegram_html(text)

"""Telegram's HTML parse mode, checked before sending: allowed tags, escaping, and length after parsing.

A rendered warning that Telegram would refuse (bad markup, more than 4096 characters) is refused at
preview, never truncated or discovered halfway through a broadcast.
"""

from __future__ import annotations

import html
import re

MAX_TEXT_LENGTH = 4096

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
    "span", "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class TelegramHtmlError(ValueError):
    """Telegram would refuse this text."""


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_telegram_html(text: str, limit: int = MAX_TEXT_LENGTH) -> int:
    """The length Telegram counts (UTF-16 units of the text after parsing); raises if it would refuse it."""
    visible: list[str] = []
    open_tags: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = _TAG.match(text, position)
            if match is None:
                raise TelegramHtmlError(f"unescaped '<' at character {position}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise TelegramHtmlError(f"tag <{name}> is not supported by Telegram")
            if closing:
                if not open_tags or open_tags[-1] != name:
                    raise TelegramHtmlError(f"unexpected </{name}> at character {position}")
                open_tags.pop()
            else:
                open_tags.append(name)
            position = match.end()
        elif char == "&":
            match = _ENTITY.match(text, position)
            if match is None:
                raise TelegramHtmlError(f"unescaped '&' at character {position}")
            visible.append(html.unescape(match.group(0)))
            position = match.end()
        else:
            visible.append(char)
            position += 1
    if open_tags:
        raise TelegramHtmlError(f"<{open_tags[-1]}> is never closed")
    content = "".join(visible)
    if not content.strip():
        raise TelegramHtmlError("the message is empty")
    length = utf16_length(content)
    if length > limit:
        raise TelegramHtmlError(f"the message is {length} characters long; Telegram allows {limit}")
    return length

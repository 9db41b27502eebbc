"""The personas' conversations as the page shows them: each bot message rendered to safe HTML from its entities.

The local Bot API server keeps what the bot sent (text, entities, buttons, edits, deletions); this module turns
it into the page's message JSON (see ``alertbot/sandbox/static/app.js``) and keeps each persona's own messages,
which Telegram does not echo back to the bot.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from alertbot.sandbox.botapi import FakeBotAPI

JSON = dict[str, Any]

_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
}
_LINK_SCHEMES = ("http://", "https://", "tg://")


def _link(url: str) -> tuple[str, str] | None:
    if not url.startswith(_LINK_SCHEMES):
        return None
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">', "</a>"


def render_html(text: str, entities: list[JSON] | None) -> str:
    """*text* with its Telegram entities (offsets in UTF-16 code units) as HTML; everything else escaped."""
    units = text.encode("utf-16-le")
    opening: dict[int, list[tuple[int, str]]] = {}
    closing: dict[int, list[tuple[int, str]]] = {}
    for entity in entities or []:
        start, length = int(entity.get("offset", 0)), int(entity.get("length", 0))
        kind = entity.get("type")
        if kind == "text_link":
            tags = _link(str(entity.get("url", "")))
        elif kind == "url":
            tags = _link(units[2 * start : 2 * (start + length)].decode("utf-16-le"))
        else:
            tags = _TAGS.get(str(kind))
        if tags is None or length <= 0:
            continue
        # an entity that starts earlier, or as early and ends later, encloses the other: it opens first, closes last
        opening.setdefault(start, []).append((-length, tags[0]))
        closing.setdefault(start + length, []).append((length, tags[1]))
    pieces: list[str] = []
    cuts = sorted({0, len(units) // 2, *opening, *closing})
    for here, after in zip(cuts, [*cuts[1:], None], strict=True):
        pieces.extend(tag for _, tag in sorted(closing.get(here, [])))
        pieces.extend(tag for _, tag in sorted(opening.get(here, [])))
        if after is not None:
            pieces.append(html.escape(units[2 * here : 2 * after].decode("utf-16-le"), quote=False))
    return "".join(pieces)


def clock(unix: float, zone: tzinfo, seconds: bool = False) -> str:
    """*unix* as a wall-clock time in *zone* (the bot's ``[bot] timezone``, as its own texts show times)."""
    return datetime.fromtimestamp(unix, zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def _buttons(markup: JSON | None) -> list[list[JSON]]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [
        [
            {"text": button.get("text", ""), "data": button.get("callback_data"), "url": button.get("url")}
            for button in row
            if isinstance(button, dict)
        ]
        for row in rows
        if isinstance(row, list)
    ]


def message_html(stored: JSON) -> str:
    """A message the bot sent, as stored by the local Bot API server: its text or caption as HTML."""
    if stored.get("caption") is not None:
        return render_html(stored["caption"], stored.get("caption_entities"))
    return render_html(stored.get("plain_text") or "", stored.get("entities"))


def photo_url(stored: JSON) -> str:
    """Where the page fetches the photo of a message the bot sent (the route ``/sandbox/files``, page.py)."""
    return f"/sandbox/files/{stored['chat_id']}/{stored['message_id']}"


def bot_message(stored: JSON, zone: tzinfo) -> JSON:
    """The page's view of a message the bot sent (stored by the local Bot API server, in its current state)."""
    replied = stored.get("reply_to_message")
    return {
        "key": f"b:{stored['message_id']}",
        "id": stored["message_id"],
        "from": "bot",
        "html": message_html(stored),
        "buttons": _buttons(stored.get("reply_markup")),
        "photo": photo_url(stored) if stored.get("photo") else None,
        "edited": stored.get("edit_date") is not None,
        "deleted": bool(stored.get("deleted")),
        "time": clock(stored.get("date") or time.time(), zone),
        "reply_to": {"html": html.escape(str(replied.get("text", ""))[:200])} if isinstance(replied, dict) else None,
    }


def user_message(message: JSON, zone: tzinfo) -> JSON:
    """The page's view of a Message a persona wrote (as the local Bot API server delivered it to the bot)."""
    return {
        "key": f"u:{message['message_id']}",
        "id": message["message_id"],
        "from": "user",
        "html": html.escape(message["text"], quote=False),
        "buttons": [],
        "photo": None,
        "edited": False,
        "deleted": False,
        "time": clock(message["date"], zone),
        "reply_to": None,
    }


class Chats:
    """Each persona's conversation, as the local server keeps it: the bot's messages and the persona's own."""

    def __init__(self, api: FakeBotAPI, chat_ids: dict[int, str], zone: tzinfo) -> None:
        self._api = api
        self._zone = zone
        self._personas = chat_ids  # private chat id -> persona id
        self.listeners: list[Callable[[str, JSON], None]] = []
        api.message_listeners.append(self._changed)

    def _changed(self, stored: JSON) -> None:
        persona = self._personas.get(stored["chat_id"])
        if persona is not None:
            self._emit(persona, bot_message(stored, self._zone))

    def _emit(self, persona: str, message: JSON) -> None:
        for listener in self.listeners:
            listener(persona, message)

    def said(self, chat_id: int, update: JSON) -> None:
        """The persona of *chat_id* wrote the message of *update* (a ``message`` update just injected)."""
        self._emit(self._personas[chat_id], user_message(update["message"], self._zone))

    def conversation(self, chat_id: int) -> list[JSON]:
        """Oldest first; the bot's and the persona's messages share one sequence of message ids, as in Telegram."""
        bots = [bot_message(m, self._zone) for m in self._api.messages(chat_id, include_deleted=True)]
        own = [user_message(m, self._zone) for m in self._api.incoming(chat_id)]
        return sorted([*bots, *own], key=lambda message: message["id"])

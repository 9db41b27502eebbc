"""Telegram-style HTML entity parsing and length counting.

Mirrors what Telegram does with ``parse_mode=HTML`` closely enough for tests:
only the tags Telegram supports are accepted, the four named entities
(``&lt; &gt; &amp; &quot;``) plus numeric ones are decoded, and lengths are
counted in UTF-16 code units after the markup has been removed and the text
has been stripped of surrounding whitespace.

Deliberately *stricter* than the real server in one respect: a bare ``&``
that does not start a supported entity is rejected (Telegram keeps it as a
literal), because the Bot API documentation requires it to be escaped and
code that forgets to escape ``&`` usually forgets ``<`` as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EntityParseError",
    "ParsedText",
    "parse_html",
    "parse_text",
    "utf16_len",
]

#: Tag name -> MessageEntity type (``None``: decided from the attributes).
_TAG_ENTITY: dict[str, str | None] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(?P<dec>[0-9]{1,8})|#[xX](?P<hex>[0-9a-fA-F]{1,8})|(?P<name>[a-zA-Z]{1,8}));")
_ATTR_NAME_RE = re.compile(r"[a-zA-Z0-9_-]+")


class EntityParseError(ValueError):
    """The markup is not something Telegram would accept (-> "can't parse entities")."""


@dataclass
class ParsedText:
    """Result of entity parsing: the visible text and its entities (UTF-16 offsets)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Length of the visible text in UTF-16 code units, as Telegram counts it."""
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """Number of UTF-16 code units in *text* (astral characters count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _OpenTag:
    name: str
    offset: int  # UTF-16 offset in the output where the tag's content starts
    attrs: dict[str, str]


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0  # UTF-16 length of everything in ``out``
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    # -- helpers -----------------------------------------------------------------
    def error(self, message: str) -> EntityParseError:
        return EntityParseError(message)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.out_len += utf16_len(chunk)

    def decode_entity(self, at: int) -> tuple[str, int]:
        """Decode the character entity starting at *at*; return (char, end index)."""
        match = _ENTITY_RE.match(self.src, at)
        if match is None:
            raise self.error(
                f'Unsupported character entity or unescaped "&" at byte offset {_byte_offset(self.src, at)}'
            )
        if match["name"] is not None:
            name = match["name"]
            if name not in _NAMED_ENTITIES:
                raise self.error(f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(self.src, at)}')
            return _NAMED_ENTITIES[name], match.end()
        code = int(match["dec"]) if match["dec"] is not None else int(match["hex"], 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise self.error(f"Invalid character entity at byte offset {_byte_offset(self.src, at)}")
        return chr(code), match.end()

    def skip_spaces(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1

    # -- main loop ---------------------------------------------------------------
    def parse(self) -> ParsedText:
        src = self.src
        while self.pos < len(src):
            ch = src[self.pos]
            if ch == "&":
                char, self.pos = self.decode_entity(self.pos)
                self.emit(char)
            elif ch == "<":
                if self.pos + 1 < len(src) and src[self.pos + 1] == "/":
                    self.end_tag()
                else:
                    self.start_tag()
            elif ch == ">":
                # Telegram tolerates a lone ">" but the docs require escaping it; accept it.
                self.emit(ch)
                self.pos += 1
            else:
                nxt = self.pos
                while nxt < len(src) and src[nxt] not in "&<>":
                    nxt += 1
                self.emit(src[self.pos : nxt])
                self.pos = nxt
        if self.stack:
            raise self.error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        return ParsedText("".join(self.out), self.entities)

    def start_tag(self) -> None:
        src = self.src
        begin = self.pos
        self.pos += 1
        while self.pos < len(src) and not src[self.pos].isspace() and src[self.pos] not in ">/":
            self.pos += 1
        if self.pos >= len(src):
            raise self.error(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        name = src[begin + 1 : self.pos].lower()
        if name not in _TAG_ENTITY:
            raise self.error(f'Unsupported start tag "{name}" at byte offset {_byte_offset(src, begin)}')
        attrs: dict[str, str] = {}
        while True:
            self.skip_spaces()
            if self.pos >= len(src):
                raise self.error(f'Unclosed start tag "{name}" at byte offset {_byte_offset(src, begin)}')
            if src[self.pos] == ">":
                self.pos += 1
                break
            match = _ATTR_NAME_RE.match(src, self.pos)
            if match is None:
                raise self.error(
                    f'Expected an attribute name in tag "{name}" at byte offset {_byte_offset(src, self.pos)}'
                )
            attr = match.group().lower()
            self.pos = match.end()
            self.skip_spaces()
            value = ""
            if self.pos < len(src) and src[self.pos] == "=":
                self.pos += 1
                self.skip_spaces()
                value = self.attribute_value(name, begin)
            attrs[attr] = value
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self.error(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, begin)}')
        self.stack.append(_OpenTag(name, self.out_len, attrs))

    def attribute_value(self, tag: str, begin: int) -> str:
        src = self.src
        if self.pos >= len(src):
            raise self.error(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(src, begin)}')
        quote = src[self.pos]
        chars: list[str] = []
        if quote in "\"'":
            self.pos += 1
            while self.pos < len(src) and src[self.pos] != quote:
                if src[self.pos] == "&":
                    char, self.pos = self.decode_entity(self.pos)
                    chars.append(char)
                else:
                    chars.append(src[self.pos])
                    self.pos += 1
            if self.pos >= len(src):
                raise self.error(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(src, begin)}')
            self.pos += 1
        else:
            while self.pos < len(src) and not src[self.pos].isspace() and src[self.pos] != ">":
                chars.append(src[self.pos])
                self.pos += 1
        return "".join(chars)

    def end_tag(self) -> None:
        src = self.src
        begin = self.pos
        if not self.stack:
            raise self.error(f"Unexpected end tag at byte offset {_byte_offset(src, begin)}")
        self.pos += 2
        while self.pos < len(src) and not src[self.pos].isspace() and src[self.pos] != ">":
            self.pos += 1
        end_name = src[begin + 2 : self.pos].lower()
        self.skip_spaces()
        if self.pos >= len(src) or src[self.pos] != ">":
            raise self.error(f"Unclosed end tag at byte offset {_byte_offset(src, begin)}")
        self.pos += 1
        tag = self.stack.pop()
        if end_name and end_name != tag.name:
            raise self.error(
                f'Unmatched end tag at byte offset {_byte_offset(src, begin)}, expected "</{tag.name}>", '
                f'found "</{end_name}>"'
            )
        self.close_entity(tag)

    def close_entity(self, tag: _OpenTag) -> None:
        length = self.out_len - tag.offset
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": _TAG_ENTITY[tag.name], "offset": tag.offset, "length": length}
        if tag.name == "a":
            href = tag.attrs.get("href")
            if not href:
                return
            entity["url"] = href
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
        elif tag.name == "tg-time":
            if "unix" in tag.attrs:
                entity["unix_time"] = int(tag.attrs["unix"]) if tag.attrs["unix"].isdigit() else 0
            if "format" in tag.attrs:
                entity["date_time_format"] = tag.attrs["format"]
        elif tag.name == "code" and self.stack and self.stack[-1].name == "pre":
            language = tag.attrs.get("class", "")
            if language.startswith("language-"):
                # Telegram folds <pre><code class="language-x"> into one pre entity with a language.
                self.stack[-1].attrs["language"] = language.removeprefix("language-")
                return
        elif tag.name == "pre" and tag.attrs.get("language"):
            entity["language"] = tag.attrs["language"]
        self.entities.append(entity)


def _strip(parsed: ParsedText) -> ParsedText:
    """Strip surrounding whitespace like Telegram does, shifting/clipping entities."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(stripped, entities)


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML *source*; raise :class:`EntityParseError` on invalid markup."""
    parsed = _HtmlParser(source).parse()
    parsed.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return _strip(parsed)


def parse_text(text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None) -> ParsedText:
    """Return the visible text Telegram would store for *text* sent with *parse_mode*.

    Only HTML is actually parsed. ``Markdown``/``MarkdownV2`` text is counted as is
    (an over-estimate of the visible length); explicit *entities* are kept unchanged.
    """
    if parse_mode and parse_mode.lower() == "html":
        return parse_html(text)
    return _strip(ParsedText(text, list(entities or [])))

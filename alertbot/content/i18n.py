"""UI strings: Fluent catalogs in alertbot/content/locales/<lang>/*.ftl, one Translator for the whole bot."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import ast

from alertbot.core.domain import LANGUAGES, Language

LOCALES_DIR = Path(__file__).resolve().parent / "locales"


class MissingMessageError(KeyError):
    """A UI string id that a catalog does not define."""


def language_for(code: str | None, default: Language) -> Language:
    """The bot language for a Telegram `language_code`: zh for any Chinese variant, else en; default if unknown."""
    if not code:
        return default
    return "zh" if code.lower().startswith("zh") else "en"


class Translator:
    """Formats UI strings. Values are inserted as given; `Texts` escapes them for Telegram HTML."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._bundles: dict[Language, FluentBundle] = {}
        for language in LANGUAGES:
            bundle = FluentBundle([language], use_isolating=False)
            for path in sorted((locales_dir / language).glob("*.ftl")):
                resource = FluentResource(path.read_text(encoding="utf-8"))
                junk = [entry for entry in resource.body if isinstance(entry, ast.Junk)]
                if junk:
                    raise ValueError(f"{path}: cannot parse {(junk[0].content or '').strip()[:80]!r}")
                bundle.add_resource(resource)
            self._bundles[language] = bundle
        self._fixed: dict[tuple[Language, str], str] = {}  # messages without arguments, formatted once

    def message_ids(self, language: Language) -> set[str]:
        return set(self._bundles[language]._messages)

    def __call__(self, language: Language, key: str, /, **args: Any) -> str:
        if not args and (language, key) in self._fixed:
            return self._fixed[language, key]
        bundle = self._bundles[language]
        if not bundle.has_message(key):
            raise MissingMessageError(f"{language}: {key}")
        message = bundle.get_message(key)
        if message.value is None:
            raise MissingMessageError(f"{language}: {key} has no value")
        text, errors = bundle.format_pattern(message.value, args)
        if errors:
            raise ValueError(f"{language}: {key}: {errors}")
        if not args:
            self._fixed[language, key] = str(text)
        return str(text)


class Texts:
    """The translator bound to one person's language, as handlers receive it (`l10n("key", name=...)`).

    Calling it gives Telegram HTML: the catalog's markup is kept and every string argument is escaped,
    so a business called "<b>Grill</b>" is shown as typed. `plain()` is for button labels and command
    descriptions, which Telegram does not parse.
    """

    def __init__(self, translator: Translator, language: Language) -> None:
        self.translator = translator
        self.language = language

    def __call__(self, key: str, /, **args: Any) -> str:
        escaped = {k: html.escape(v, quote=False) if isinstance(v, str) else v for k, v in args.items()}
        return self.translator(self.language, key, **escaped)

    def plain(self, key: str, /, **args: Any) -> str:
        return self.translator(self.language, key, **args)

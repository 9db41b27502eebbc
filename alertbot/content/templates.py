"""Message templates: Jinja2 files under messages/<lang>/, rendered as Telegram HTML.

Autoescape is on (variables typed by officials cannot inject markup) and undefined variables are
errors (StrictUndefined), so a template never goes out with a hole in it. `messages/catalog.toml`
describes each template: its title, kind, severity and variables with examples.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alertbot.content.telegram_html import TelegramHtmlError, check_telegram_html
from alertbot.core.domain import LANGUAGES, Language, Severity
from alertbot.core.errors import TemplateProblem

# the top-level messages/ of a checkout, or the copy shipped inside the wheel (alertbot/messages)
_PACKAGED_MESSAGES = Path(__file__).resolve().parent.parent / "messages"
MESSAGES_DIR = (
    _PACKAGED_MESSAGES if _PACKAGED_MESSAGES.is_dir() else Path(__file__).resolve().parent.parent.parent / "messages"
)
TEMPLATE_SUFFIX = ".j2"


TemplateKind = Literal["warning", "follow_up", "reminder", "imported"]
"""'imported': the generic template of warnings made from a CAP message, never offered in the chat."""
CapUrgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
CapCertainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

# Variables the system fills in for every template (officials never type them).
SYSTEM_VARIABLES = ("districts", "issued_at")
# ... and, for follow-ups, from the broadcast they follow up on.
FOLLOW_UP_VARIABLES = ("original_title", "original_issued_at")
SYSTEM_SAMPLES: dict[Language, dict[str, str]] = {
    "zh": {"districts": "和平区、沈河区", "issued_at": "2026-11-29 18:30", "original_title": "燃气泄漏",
           "original_issued_at": "2026-11-29 17:05"},
    "en": {"districts": "Heping, Shenhe", "issued_at": "2026-11-29 18:30", "original_title": "Gas leak",
           "original_issued_at": "2026-11-29 17:05"},
}  # fmt: skip


class VariableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    required: bool = True
    description: dict[Language, str]
    example: dict[Language, str]


class TemplateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: dict[Language, str]
    kind: TemplateKind
    severity: Severity | None = None
    variables: list[VariableSpec] = []
    cap_event: str | None = None
    cap_category: str | None = None
    cap_response_type: str | None = None
    cap_urgency: CapUrgency | None = None
    cap_certainty: CapCertainty | None = None

    def sample_values(self, language: Language) -> dict[str, str]:
        """Every variable with its example, plus the system's own, as `alertbot check` renders them."""
        return SYSTEM_SAMPLES[language] | {v.name: v.example[language] for v in self.variables}


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    templates: list[TemplateSpec]

    def get(self, template_id: str) -> TemplateSpec:
        for spec in self.templates:
            if spec.id == template_id:
                return spec
        raise TemplateProblem(f"unknown template {template_id!r}")


@dataclass(frozen=True)
class Rendered:
    language: Language
    text: str
    length: int


class MessageTemplates:
    """Loads the catalog and renders templates; the one Jinja2 environment of the application."""

    def __init__(self, directory: Path = MESSAGES_DIR) -> None:
        self.directory = directory
        self.environment = Environment(
            loader=FileSystemLoader(str(directory)),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.catalog = self._load_catalog()

    def _load_catalog(self) -> Catalog:
        path = self.directory / "catalog.toml"
        try:
            return Catalog.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
            raise TemplateProblem(f"{path}: {exc}") from exc

    def render(self, template_id: str, language: Language, variables: dict[str, Any]) -> Rendered:
        """Render one template; TemplateProblem if it fails or is not a valid Telegram message."""
        spec = self.catalog.get(template_id)
        missing = [v.name for v in spec.variables if v.required and not str(variables.get(v.name, "")).strip()]
        if missing:
            raise TemplateProblem(f"{template_id}: missing required variable {', '.join(missing)}")
        values = {v.name: "" for v in spec.variables if not v.required} | variables
        name = f"{language}/{template_id}{TEMPLATE_SUFFIX}"
        try:
            text = self.environment.get_template(name).render(**values).strip()
        except TemplateError as exc:
            raise TemplateProblem(f"{name}: {exc}") from exc
        try:
            length = check_telegram_html(text)
        except TelegramHtmlError as exc:
            raise TemplateProblem(f"{name}: {exc}") from exc
        return Rendered(language=language, text=text, length=length)

    def check_all(self) -> list[str]:
        """Render every catalog template in every language with its examples; the problems found."""
        problems: list[str] = []
        listed = set()
        for spec in self.catalog.templates:
            listed.add(spec.id)
            for language in LANGUAGES:
                try:
                    self.render(spec.id, language, spec.sample_values(language))
                except TemplateProblem as exc:
                    problems.append(str(exc))
        for language in LANGUAGES:
            for path in sorted((self.directory / language).glob(f"*{TEMPLATE_SUFFIX}")):
                if path.stem not in listed:
                    problems.append(f"{path.relative_to(self.directory)}: not described in catalog.toml")
        return problems

"""A warning's text: its template and variables checked, then rendered exactly as each language receives it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alertbot.config import AppConfig
from alertbot.content.i18n import Translator
from alertbot.content.telegram_html import TelegramHtmlError, check_telegram_html
from alertbot.content.templates import MessageTemplates, TemplateSpec
from alertbot.core.domain import Broadcast, Language
from alertbot.core.errors import RenderError, TemplateProblem, UnknownTemplateError, VariableError
from alertbot.services.districts import DistrictDirectory
from alertbot.services.drafts import AlertDraft
from alertbot.services.formatting import join_districts, local_time

MAX_VARIABLE_LENGTH = 1000


@dataclass(frozen=True)
class AlertTexts:
    """Checks what an official typed against the template and renders the result; nothing is audited here."""

    config: AppConfig
    templates: MessageTemplates
    translator: Translator
    districts: DistrictDirectory

    def template(self, template_id: str, *, follow_up: bool, imported: bool = False) -> TemplateSpec:
        """The warning (or, for a follow-up, the follow-up; for a CAP import, the imported) template."""
        try:
            spec = self.templates.catalog.get(template_id)
        except TemplateProblem:
            raise UnknownTemplateError(f"unknown template {template_id!r}", template=template_id) from None
        if imported and spec.kind == "imported":  # a CAP message's own texts: a warning, or a follow-up
            return spec
        wanted = "follow_up" if follow_up else "warning"
        if spec.kind != wanted:
            raise UnknownTemplateError(f"{template_id!r} is not a {wanted} template", template=template_id)
        return spec

    @staticmethod
    def variables(spec: TemplateSpec, given: Mapping[str, str]) -> dict[str, str]:
        """Every variable of `spec`, in its order, with white space tidied; unknown, over-long or missing
        required ones are refused."""
        known = {v.name for v in spec.variables}
        unknown = sorted(set(given) - known)
        if unknown:
            raise VariableError(
                f"template {spec.id!r} has no variable {', '.join(unknown)} (it has: {', '.join(sorted(known))})",
                name=", ".join(unknown),
            )
        values = {name: " ".join(str(value).split()) if "\n" not in str(value) else str(value).strip()
                  for name, value in given.items()}  # fmt: skip
        for name, value in values.items():
            if len(value) > MAX_VARIABLE_LENGTH:
                raise VariableError(f"variable {name} is longer than {MAX_VARIABLE_LENGTH} characters", name=name)
        missing = [v.name for v in spec.variables if v.required and not values.get(v.name)]
        if missing:
            raise VariableError(f"missing required variable {', '.join(missing)}", name=", ".join(missing))
        return {v.name: values.get(v.name, "") for v in spec.variables}

    def render(self, spec: TemplateSpec, language: Language, draft: AlertDraft, original: Broadcast | None) -> str:
        """The completed draft's text in `language`: severity (and exercise banners) around the template's body."""
        zone = self.config.bot.zone
        assert draft.issued_at is not None
        values: dict[str, str] = dict(draft.variables)
        values["districts"] = join_districts(self.districts, draft.districts, language)
        values["issued_at"] = local_time(draft.issued_at, zone)
        if original is not None:
            values["original_title"] = original.titles.get(language, spec.title[language])
            values["original_issued_at"] = local_time(original.created_at, zone)
        try:
            body = self.templates.render(spec.id, language, values).text
        except TemplateProblem as problem:
            raise RenderError(str(problem), problem=str(problem)) from None
        parts = []
        if draft.exercise:
            parts.append(self.translator(language, "alert-exercise-banner"))
        if draft.severity is not None:
            parts.append(self.translator(language, f"alert-severity-{draft.severity.value}"))
        parts.append(body)
        if draft.exercise:
            parts.append(self.translator(language, "alert-exercise-banner"))
        text = "\n\n".join(parts)
        try:
            check_telegram_html(text)
        except TelegramHtmlError as problem:
            raise RenderError(f"{language}: {problem}", problem=f"{language}: {problem}") from None
        return text

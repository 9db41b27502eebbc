"""The /alert flow's state and its steps: each step shows one message and records it as the live one.

The draft lives in FSM data as `AlertDraft.to_json()`, with the index of the variable being asked and the
id of the one message whose buttons are live: a tap on an older message of the flow is refused (see
`OnLiveMessage`), so a stale preview can never confirm a newer draft. After the preview the draft carries
`issued_at`, so the confirmed text is exactly the previewed one.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from alertbot.content.i18n import Texts
from alertbot.core.domain import LANGUAGES
from alertbot.core.errors import AlertError, DistrictError, OutOfScopeError, RenderError, VariableError
from alertbot.services.alerts import AlertService, Preview
from alertbot.services.drafts import AlertDraft
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.services.reach import reach_notes
from alertbot.telegram.answers import error_text
from alertbot.telegram.formatting import district_names
from alertbot.telegram.keyboards.alert import (
    audience_label,
    confirm_keyboard,
    district_keyboard,
    mode_label,
    severity_label,
    skip_keyboard,
)
from alertbot.telegram.states import AlertCompose

DRAFT, STEP, LIVE = "draft", "step", "live"  # FSM data: the draft, the variable asked, the live message id
SEND_AT = "send_at"  # FSM data: the chosen sending time (ISO, with its zone), None to send at once
TOTAL, APPROVAL = "total", "approval"  # FSM data: the preview's recipient count and whether it needs approval


class OnLiveMessage(Filter):
    """Passes a tap only on the flow's live message, handing the handler the `draft` (None before a template
    is chosen) and the FSM `flow_data`. Taps on older (or forged) messages fall through to `stale_button`."""

    async def __call__(self, query: CallbackQuery, state: FSMContext) -> bool | dict[str, Any]:
        data = await state.get_data()
        if not isinstance(query.message, Message) or data.get(LIVE) != query.message.message_id:
            return False
        raw = data.get(DRAFT)
        return {"draft": AlertDraft.from_json(raw) if raw else None, "flow_data": data}


async def show(message: Message, text: str, markup: InlineKeyboardMarkup | None, *, edit: bool) -> int:
    """Edit `message` (a step answered by a tap) or send a new one; the id of the message shown."""
    if edit:
        await message.edit_text(text, reply_markup=markup)
        return message.message_id
    return (await message.answer(text, reply_markup=markup)).message_id


@dataclass(frozen=True)
class Flow:
    """What every step needs: where to answer, the FSM, the official's language, the service and who acts."""

    message: Message
    state: FSMContext
    l10n: Texts
    alerts: AlertService
    user_id: int

    async def answer(self, text: str) -> None:
        await self.message.answer(text)


async def ask_variable(flow: Flow, draft: AlertDraft, step: int, *, edit: bool) -> None:
    """Ask the template's variable number `step`; after the last one go on to the districts (a follow-up:
    straight to the preview)."""
    spec = flow.alerts.templates.catalog.get(draft.template_id)
    if step >= len(spec.variables):
        if draft.follows_id is not None:
            await preview(flow, draft, edit=edit)
        else:
            await ask_districts(flow, draft, edit=edit)
        return
    l10n = flow.l10n
    variable, language = spec.variables[step], l10n.language
    title = spec.title[language]
    if draft.follows_id is not None:
        title = l10n.plain("alert-follow-up-heading", title=title, id=draft.follows_id)
    text = l10n(
        "alert-ask-variable",
        title=title,
        step=step + 1,
        steps=len(spec.variables),
        description=variable.description[language],
        example=variable.example[language],
        optional="no" if variable.required else "yes",
    )
    markup = None if variable.required else skip_keyboard(l10n, variable.name)
    shown = await show(flow.message, text, markup, edit=edit)
    await flow.state.set_state(AlertCompose.variable)
    await flow.state.update_data({DRAFT: draft.to_json(), STEP: step, LIVE: shown})


async def ask_districts(flow: Flow, draft: AlertDraft, *, edit: bool) -> None:
    try:
        official = await flow.alerts.official(flow.user_id, "compose")
    except AlertError as error:
        await flow.answer(error_text(flow.l10n, error))
        await flow.state.clear()
        return
    everywhere = ALL_DISTRICTS in official.districts
    scope = flow.alerts.scope(official)
    markup = district_keyboard(flow.l10n, flow.alerts.districts, scope, draft.districts, everywhere=everywhere)
    shown = await show(flow.message, flow.l10n("alert-choose-districts"), markup, edit=edit)
    await flow.state.set_state(AlertCompose.districts)
    await flow.state.update_data({DRAFT: draft.to_json(), LIVE: shown})


async def preview(flow: Flow, draft: AlertDraft, *, edit: bool) -> None:
    """Render the draft exactly as it would be sent: a header, each language's text, then Confirm/Cancel."""
    l10n = flow.l10n
    try:
        shown = await flow.alerts.preview(flow.user_id, draft)
    except AlertError as error:
        await flow.answer(error_text(l10n, error))
        await _after_preview_error(flow, draft, error, edit=edit)
        return
    if shown.total == 0:
        await flow.answer(l10n("alert-no-recipients"))
        await _after_preview_error(flow, draft, None, edit=edit)
        return
    await show_preview(flow, shown, edit=edit)


async def show_preview(flow: Flow, shown: Preview, *, edit: bool) -> None:
    """The preview of a checked draft, then Confirm/Cancel: the flow waits for the official's tap."""
    l10n = flow.l10n
    await show(flow.message, _preview_header(l10n, flow.alerts, shown), None, edit=edit)
    for language in LANGUAGES:
        await flow.answer(l10n("alert-preview-language", language=l10n.plain(f"alert-language-{language}")))
        await flow.answer(shown.texts[language])
    confirm = await flow.message.answer(l10n("alert-confirm-question"), reply_markup=confirm_keyboard(l10n, shown))
    await flow.state.set_state(AlertCompose.confirm)
    await flow.state.update_data(
        {
            DRAFT: shown.draft.to_json(),
            STEP: None,
            LIVE: confirm.message_id,
            SEND_AT: None,
            TOTAL: shown.total,
            APPROVAL: shown.needs_approval,
        }
    )


async def _after_preview_error(flow: Flow, draft: AlertDraft, error: AlertError | None, *, edit: bool) -> None:
    """Back to the step that can fix it: districts for a district problem or nobody to reach, the texts for
    a variable or rendering problem. A follow-up has nothing to change: it ends. Anything else: stay at
    this step, whose buttons still work."""
    district_problem = error is None or isinstance(error, DistrictError | OutOfScopeError)
    text_problem = isinstance(error, VariableError | RenderError)
    if draft.follows_id is None and not (district_problem or text_problem):
        return
    if edit:  # the buttons of this step are no longer live
        with contextlib.suppress(TelegramBadRequest):
            await flow.message.edit_reply_markup(reply_markup=None)
    if draft.follows_id is not None:
        await flow.state.clear()
    elif district_problem:
        await ask_districts(flow, draft, edit=False)
    else:
        await ask_variable(flow, dataclasses.replace(draft, variables={}), 0, edit=False)


def _preview_header(l10n: Texts, alerts: AlertService, preview: Preview) -> str:
    draft, language = preview.draft, l10n.language
    notes = []
    if draft.follows_id is not None:
        notes.append(l10n.plain("alert-preview-follow-up", id=draft.follows_id))
    if draft.exercise:
        notes.append(l10n.plain("alert-preview-exercise"))
    if preview.needs_approval:
        notes.append(l10n.plain("alert-preview-approval"))
    notes.extend(reach_notes(l10n, preview))
    return l10n(
        "alert-preview-header",
        mode=mode_label(l10n, draft.exercise),
        title=preview.spec.title[language],
        severity=severity_label(l10n, draft.severity),
        audience=audience_label(l10n, draft.audience),
        districts=district_names(alerts.districts, draft.districts, language),
        total=preview.total,
        zh=preview.recipients.get("zh", 0),
        en=preview.recipients.get("en", 0),
        notes="".join("\n" + note for note in notes),
    )

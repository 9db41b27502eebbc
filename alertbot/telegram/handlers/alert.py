"""/alert for officials: compose from a template, preview exactly, confirm; approvals and follow-ups.

The draft lives in FSM data as `AlertDraft.to_json()`, with the index of the variable being asked and the
id of the one message whose buttons are live: a tap on an older message of the flow is refused, so a
stale preview can never confirm a newer draft. After the preview the draft carries `issued_at`, so the
confirmed text is exactly the previewed one. Callback data is never trusted: taps are checked here against
the official's scope, and AlertService re-checks (and audits refusals of) the whole draft.

"⏰ Send at…" under a warning's preview asks for a time (typed, in the bot's zone); the confirm step that
follows sends the same draft with `send_at` kept in the FSM data, never in callback data. The reporter then
posts a notice whose `ScheduledCancel` button stops the broadcast until it goes out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

from alertbot.config import AppConfig
from alertbot.content.i18n import Texts
from alertbot.core.domain import LANGUAGES, Audience, Severity, SubscriberKind
from alertbot.services.alerts import (
    MAX_VARIABLE_LENGTH,
    TIME_FORMAT,
    AlertDraft,
    AlertError,
    AlertService,
    DistrictError,
    OutOfScopeError,
    Preview,
    RenderError,
    ScheduleError,
    VariableError,
)
from alertbot.services.officials import ALL_DISTRICTS
from alertbot.services.subscriptions import SubscriptionService
from alertbot.telegram.alert_keyboards import (
    audience_keyboard,
    audience_label,
    cancel_keyboard,
    confirm_keyboard,
    confirm_label,
    district_keyboard,
    duplicate_keyboard,
    mode_keyboard,
    mode_label,
    scheduled_confirm_keyboard,
    send_at_label,
    severity_keyboard,
    severity_label,
    skip_keyboard,
    template_keyboard,
)
from alertbot.telegram.answers import refuse
from alertbot.telegram.callbacks import (
    AlertAudienceChoice,
    AlertCancel,
    AlertConfirm,
    AlertDistrictsDone,
    AlertDistrictToggle,
    AlertModeChoice,
    AlertSendAt,
    AlertSeverityChoice,
    AlertSkip,
    AlertTemplateChoice,
    ApprovalDecision,
    FollowUpStart,
    ScheduledCancel,
)
from alertbot.telegram.filters import private_chats_only
from alertbot.telegram.formatting import district_names
from alertbot.telegram.states import AlertCompose

log = logging.getLogger(__name__)

DRAFT, STEP, LIVE = "draft", "step", "live"  # FSM data: the draft, the variable asked, the live message id
SEND_AT = "send_at"  # FSM data: the chosen sending time (ISO, with its zone), None to send at once
TOTAL, APPROVAL = "total", "approval"  # FSM data: the preview's recipient count and whether it needs approval


# -- small helpers -------------------------------------------------------------------------------


def _message(query: CallbackQuery) -> Message:
    assert isinstance(query.message, Message)
    return query.message


def _user_id(event: Message | CallbackQuery) -> int:
    assert event.from_user is not None
    return event.from_user.id


def _error_text(l10n: Texts, error: AlertError) -> str:
    return l10n(error.key, **error.args_for_text)


class OnLiveMessage(Filter):
    """Passes a tap only on the flow's live message, handing the handler the `draft` (None before a template
    is chosen) and the FSM `flow_data`. Taps on older (or forged) messages fall through to `stale_button`."""

    async def __call__(self, query: CallbackQuery, state: FSMContext) -> bool | dict[str, Any]:
        data = await state.get_data()
        if not isinstance(query.message, Message) or data.get(LIVE) != query.message.message_id:
            return False
        raw = data.get(DRAFT)
        return {"draft": AlertDraft.from_json(raw) if raw else None, "flow_data": data}


async def _show(message: Message, text: str, markup: InlineKeyboardMarkup | None, *, edit: bool) -> int:
    """Edit `message` (a step answered by a tap) or send a new one; the id of the message shown."""
    if edit:
        await message.edit_text(text, reply_markup=markup)
        return message.message_id
    return (await message.answer(text, reply_markup=markup)).message_id


async def _texts_for(chat_id: int, l10n: Texts, subscriptions: SubscriptionService, config: AppConfig) -> Texts:
    """Another chat's language, as the progress reporter chooses it: stored, else the default."""
    language = await subscriptions.stored_language(chat_id) or config.bot.default_language
    return Texts(l10n.translator, language)


def _minutes_since(moment: datetime) -> int:
    return max(0, int((datetime.now(UTC) - moment).total_seconds() // 60))


# -- the steps: each shows one message and records it as the live one ------------------------------


@dataclass(frozen=True)
class _Flow:
    """What every step needs: where to answer, the FSM, the official's language, the service and who acts."""

    message: Message
    state: FSMContext
    l10n: Texts
    alerts: AlertService
    user_id: int

    async def answer(self, text: str) -> None:
        await self.message.answer(text)


async def _ask_variable(flow: _Flow, draft: AlertDraft, step: int, *, edit: bool) -> None:
    """Ask the template's variable number `step`; after the last one go on to the districts (a follow-up:
    straight to the preview)."""
    spec = flow.alerts.templates.catalog.get(draft.template_id)
    if step >= len(spec.variables):
        if draft.follows_id is not None:
            await _preview(flow, draft, edit=edit)
        else:
            await _ask_districts(flow, draft, edit=edit)
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
    shown = await _show(flow.message, text, markup, edit=edit)
    await flow.state.set_state(AlertCompose.variable)
    await flow.state.update_data({DRAFT: draft.to_json(), STEP: step, LIVE: shown})


async def _ask_districts(flow: _Flow, draft: AlertDraft, *, edit: bool) -> None:
    try:
        official = await flow.alerts.official(flow.user_id, "compose")
    except AlertError as error:
        await flow.answer(_error_text(flow.l10n, error))
        await flow.state.clear()
        return
    everywhere = ALL_DISTRICTS in official.districts
    scope = flow.alerts.scope(official)
    markup = district_keyboard(flow.l10n, flow.alerts.districts, scope, draft.districts, everywhere=everywhere)
    shown = await _show(flow.message, flow.l10n("alert-choose-districts"), markup, edit=edit)
    await flow.state.set_state(AlertCompose.districts)
    await flow.state.update_data({DRAFT: draft.to_json(), LIVE: shown})


async def _preview(flow: _Flow, draft: AlertDraft, *, edit: bool) -> None:
    """Render the draft exactly as it would be sent: a header, each language's text, then Confirm/Cancel."""
    l10n = flow.l10n
    try:
        preview = await flow.alerts.preview(flow.user_id, draft)
    except AlertError as error:
        await flow.answer(_error_text(l10n, error))
        await _after_preview_error(flow, draft, error, edit=edit)
        return
    if preview.total == 0:
        await flow.answer(l10n("alert-no-recipients"))
        await _after_preview_error(flow, draft, None, edit=edit)
        return
    await _show(flow.message, _preview_header(l10n, flow.alerts, preview), None, edit=edit)
    for language in LANGUAGES:
        await flow.answer(l10n("alert-preview-language", language=l10n.plain(f"alert-language-{language}")))
        await flow.answer(preview.texts[language])
    confirm = await flow.message.answer(l10n("alert-confirm-question"), reply_markup=confirm_keyboard(l10n, preview))
    await flow.state.set_state(AlertCompose.confirm)
    await flow.state.update_data(
        {
            DRAFT: preview.draft.to_json(),
            STEP: None,
            LIVE: confirm.message_id,
            SEND_AT: None,
            TOTAL: preview.total,
            APPROVAL: preview.needs_approval,
        }
    )


async def _after_preview_error(flow: _Flow, draft: AlertDraft, error: AlertError | None, *, edit: bool) -> None:
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
        await _ask_districts(flow, draft, edit=False)
    else:
        await _ask_variable(flow, dataclasses.replace(draft, variables={}), 0, edit=False)


def _preview_header(l10n: Texts, alerts: AlertService, preview: Preview) -> str:
    draft, language = preview.draft, l10n.language
    notes = []
    if draft.follows_id is not None:
        notes.append(l10n.plain("alert-preview-follow-up", id=draft.follows_id))
    if draft.exercise:
        notes.append(l10n.plain("alert-preview-exercise"))
    if preview.needs_approval:
        notes.append(l10n.plain("alert-preview-approval"))
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


# -- /alert and the compose steps ------------------------------------------------------------------


async def start_alert(
    message: Message, state: FSMContext, l10n: Texts, alerts: AlertService, subscriptions: SubscriptionService
) -> None:
    try:
        await alerts.official(_user_id(message), "compose")
    except AlertError as error:
        await message.answer(_error_text(l10n, error))
        return
    # Progress, reports and approval requests reach this official later, outside any update: keep the
    # language they use now so those arrive in it too.
    await subscriptions.ensure(message.chat.id, l10n.language)
    shown = await message.answer(
        l10n("alert-choose-template"), reply_markup=template_keyboard(l10n, alerts.warning_templates())
    )
    await state.set_state(AlertCompose.template)
    await state.set_data({LIVE: shown.message_id})


async def choose_template(
    query: CallbackQuery,
    callback_data: AlertTemplateChoice,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
) -> None:
    if callback_data.template not in {spec.id for spec in alerts.warning_templates()}:
        refuse(callback_answer, l10n, "alert-unknown-template", template=callback_data.template)
        return
    flow = _Flow(_message(query), state, l10n, alerts, _user_id(query))
    await _ask_variable(flow, AlertDraft(template_id=callback_data.template), 0, edit=True)


async def variable_answer(message: Message, state: FSMContext, bot: Bot, l10n: Texts, alerts: AlertService) -> None:
    data = await state.get_data()
    draft, step = AlertDraft.from_json(data[DRAFT]), int(data[STEP])
    text = (message.text or "").strip()
    if not text:
        await message.answer(l10n("alert-variable-not-text"))
        return
    if len(text) > MAX_VARIABLE_LENGTH:
        await message.answer(l10n("alert-variable-too-long", max=MAX_VARIABLE_LENGTH, length=len(text)))
        return
    variable = alerts.templates.catalog.get(draft.template_id).variables[step]
    if not variable.required:  # its Skip button is no longer needed
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=data[LIVE], reply_markup=None)
    draft = dataclasses.replace(draft, variables={**draft.variables, variable.name: text})
    await _ask_variable(_Flow(message, state, l10n, alerts, _user_id(message)), draft, step + 1, edit=False)


async def variable_not_text(message: Message, l10n: Texts) -> None:
    await message.answer(l10n("alert-variable-not-text"))


async def skip_variable(
    query: CallbackQuery,
    callback_data: AlertSkip,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    draft: AlertDraft,
    flow_data: dict[str, Any],
) -> None:
    step = int(flow_data[STEP])
    variable = alerts.templates.catalog.get(draft.template_id).variables[step]
    if variable.required or variable.name != callback_data.variable:
        refuse(callback_answer, l10n, "alert-flow-expired")
        return
    await _message(query).edit_reply_markup(reply_markup=None)
    flow = _Flow(_message(query), state, l10n, alerts, _user_id(query))
    await _ask_variable(flow, draft, step + 1, edit=False)


async def toggle_district(
    query: CallbackQuery,
    callback_data: AlertDistrictToggle,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    draft: AlertDraft,
) -> None:
    """Only districts offered to this official can be stored; anything else (forged) is refused."""
    try:
        official = await alerts.official(_user_id(query), "compose")
    except AlertError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        return
    scope, wanted, everywhere = alerts.scope(official), callback_data.district, ALL_DISTRICTS in official.districts
    chosen = set(draft.districts)
    if wanted == ALL_DISTRICTS and everywhere:
        chosen = set() if set(scope) <= chosen else set(scope)
    elif wanted in scope:
        chosen ^= {wanted}
    else:  # audited like the service's own scope refusals
        await alerts.audit.record(
            "refused", actor_id=official.telegram_id, actor_name=official.name,
            attempted=f"districts {wanted}", reason="out of scope",
        )  # fmt: skip
        name = alerts.districts.name(wanted, l10n.language) if wanted in alerts.districts else wanted
        refuse(callback_answer, l10n, "alert-out-of-scope", districts=name)
        return
    draft = dataclasses.replace(draft, districts=tuple(d for d in scope if d in chosen))
    await state.update_data({DRAFT: draft.to_json()})
    markup = district_keyboard(l10n, alerts.districts, scope, draft.districts, everywhere=everywhere)
    await _message(query).edit_reply_markup(reply_markup=markup)


async def districts_done(
    query: CallbackQuery, state: FSMContext, callback_answer: CallbackAnswer, l10n: Texts, draft: AlertDraft
) -> None:
    if not draft.districts:
        refuse(callback_answer, l10n, "alert-choose-one-district")
        return
    await state.set_state(AlertCompose.audience)
    await _message(query).edit_text(l10n("alert-choose-audience"), reply_markup=audience_keyboard(l10n))


async def choose_audience(
    query: CallbackQuery,
    callback_data: AlertAudienceChoice,
    state: FSMContext,
    l10n: Texts,
    alerts: AlertService,
    draft: AlertDraft,
) -> None:
    kind = SubscriberKind.BUSINESS if callback_data.category else callback_data.kind
    draft = dataclasses.replace(draft, audience=Audience(kind, callback_data.category))
    spec = alerts.templates.catalog.get(draft.template_id)
    suggested = Severity(spec.severity) if spec.severity else None
    await state.set_state(AlertCompose.severity)
    await state.update_data({DRAFT: draft.to_json()})
    await _message(query).edit_text(
        l10n("alert-choose-severity", default=severity_label(l10n, suggested)),
        reply_markup=severity_keyboard(l10n, suggested),
    )


async def choose_severity(
    query: CallbackQuery, callback_data: AlertSeverityChoice, state: FSMContext, l10n: Texts, draft: AlertDraft
) -> None:
    draft = dataclasses.replace(draft, severity=callback_data.severity)
    await state.set_state(AlertCompose.mode)
    await state.update_data({DRAFT: draft.to_json()})
    await _message(query).edit_text(l10n("alert-choose-mode"), reply_markup=mode_keyboard(l10n))


async def choose_mode(
    query: CallbackQuery,
    callback_data: AlertModeChoice,
    state: FSMContext,
    l10n: Texts,
    alerts: AlertService,
    draft: AlertDraft,
) -> None:
    draft = dataclasses.replace(draft, exercise=callback_data.exercise)
    await state.update_data({DRAFT: draft.to_json()})
    await _preview(_Flow(_message(query), state, l10n, alerts, _user_id(query)), draft, edit=True)


async def confirm(
    query: CallbackQuery,
    callback_data: AlertConfirm,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
    config: AppConfig,
) -> None:
    message = _message(query)
    # Claim the draft (no await in between that yields on the in-memory FSM storage): a second tap of a
    # double tap finds nothing left to send.
    data = await state.get_data()
    if data.get(DRAFT) is None:
        refuse(callback_answer, l10n, "alert-flow-expired")
        return
    await state.update_data({DRAFT: None})
    draft = AlertDraft.from_json(data[DRAFT])
    send_at = datetime.fromisoformat(data[SEND_AT]) if data.get(SEND_AT) else None
    buttons = message.reply_markup
    try:
        await message.edit_reply_markup(reply_markup=None)
        confirmation = await alerts.confirm(
            _user_id(query),
            draft,
            force_duplicate=callback_data.force_duplicate,
            report_chat_id=message.chat.id,
            send_at=send_at,
        )
    except ScheduleError as error:  # the time came too close while the official looked: ask for another
        await state.update_data({DRAFT: data[DRAFT]})
        await message.answer(_error_text(l10n, error))
        await _ask_send_at(message, state, l10n, config, edit=False)
        return
    except AlertError as error:
        await state.update_data({DRAFT: data[DRAFT]})
        await message.edit_reply_markup(reply_markup=buttons)
        await message.answer(_error_text(l10n, error))
        return
    except Exception:
        # Not the official's doing (the database, the network): the draft they checked stays, with its
        # buttons, so the same tap tries again. Had it been queued after all, the retry finds it as a
        # duplicate and asks before sending a second copy.
        log.exception("confirming a warning for %s failed", _user_id(query))
        await state.update_data({DRAFT: data[DRAFT]})
        with contextlib.suppress(TelegramAPIError):
            await message.edit_reply_markup(reply_markup=buttons)
        await message.answer(l10n("alert-confirm-failed"))
        return
    broadcast = confirmation.broadcast
    if confirmation.outcome == "duplicate":
        await state.update_data({DRAFT: data[DRAFT]})
        text = l10n("alert-duplicate", id=broadcast.id, minutes=_minutes_since(broadcast.created_at))
        await message.edit_text(text, reply_markup=duplicate_keyboard(l10n))
        return
    await state.clear()
    mode = mode_label(l10n, broadcast.exercise)
    if confirmation.outcome == "queued" and send_at is not None:
        time = send_at.astimezone(config.bot.zone).strftime(TIME_FORMAT)
        text = l10n("alert-scheduled-confirmed", id=broadcast.id, time=time, total=broadcast.recipients, mode=mode)
    elif confirmation.outcome == "queued":
        text = l10n("alert-queued", id=broadcast.id, total=broadcast.recipients, mode=mode)
    else:
        minutes = int(config.alerts.approval_timeout.total_seconds() // 60)
        text = l10n("alert-waiting-approval", id=broadcast.id, minutes=minutes)
    await message.edit_text(text)


async def _ask_send_at(message: Message, state: FSMContext, l10n: Texts, config: AppConfig, *, edit: bool) -> None:
    """Ask for the sending time: its accepted forms, in the bot's zone; Cancel stays possible."""
    now = datetime.now(config.bot.zone).strftime(TIME_FORMAT)
    text = l10n("alert-ask-send-at", zone=config.bot.timezone, now=now)
    shown = await _show(message, text, cancel_keyboard(l10n), edit=edit)
    await state.set_state(AlertCompose.send_at)
    await state.update_data({LIVE: shown, SEND_AT: None})


async def ask_send_at(
    query: CallbackQuery,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    config: AppConfig,
    draft: AlertDraft | None,
) -> None:
    """ "⏰ Send at…" under the preview. Not for a draft being confirmed right now, nor for a follow-up."""
    if draft is None:
        refuse(callback_answer, l10n, "alert-flow-expired")
        return
    if draft.follows_id is not None:  # no such button under a follow-up: forged
        refuse(callback_answer, l10n, ScheduleError.key, problem="follow-up")
        return
    await _ask_send_at(_message(query), state, l10n, config, edit=True)


async def send_at_answer(
    message: Message, state: FSMContext, bot: Bot, l10n: Texts, alerts: AlertService, config: AppConfig
) -> None:
    """The typed time: checked by the service; a valid one leads to a confirm button naming it."""
    text = unicodedata.normalize("NFKC", message.text or "")  # "１８：３０" from a Chinese keyboard is 18:30
    try:
        when = alerts.parse_send_at(text)
        alerts.check_send_at(when)
    except ScheduleError as error:
        await message.answer(_error_text(l10n, error) + "\n" + l10n("alert-send-at-again"))
        return
    data = await state.get_data()
    with contextlib.suppress(TelegramBadRequest):  # the prompt's Cancel is no longer the live one
        await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=data[LIVE], reply_markup=None)
    draft = AlertDraft.from_json(data[DRAFT])
    label = confirm_label(
        l10n,
        exercise=draft.exercise,
        total=int(data[TOTAL]),
        needs_approval=bool(data[APPROVAL]),
        at=send_at_label(when, config.bot.zone),
    )
    question = l10n(
        "alert-confirm-send-at", time=when.astimezone(config.bot.zone).strftime(TIME_FORMAT), zone=config.bot.timezone
    )
    shown = await message.answer(question, reply_markup=scheduled_confirm_keyboard(l10n, label))
    await state.set_state(AlertCompose.confirm)
    await state.update_data({SEND_AT: when.isoformat(), LIVE: shown.message_id})


async def cancel(query: CallbackQuery, state: FSMContext, l10n: Texts) -> None:
    await state.clear()
    await _message(query).edit_text(l10n("alert-cancelled"))


async def cancel_scheduled(
    query: CallbackQuery,
    callback_data: ScheduledCancel,
    callback_answer: CallbackAnswer,
    bot: Bot,
    l10n: Texts,
    alerts: AlertService,
) -> None:
    """The notice's "Cancel this scheduled warning". The service decides who may (and audits everything)."""
    number = callback_data.broadcast_id
    try:
        stopped = await alerts.cancel(_user_id(query), number)
    except AlertError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        return
    if stopped == 0:  # it went out already (or was cancelled before): the notice is out of date
        refuse(callback_answer, l10n, "alert-nothing-to-cancel", id=number)
        return
    assert query.message is not None  # possibly inaccessible (an old notice): edit it by its ids
    chat_id, text = query.message.chat.id, l10n("alert-scheduled-cancelled", id=number, stopped=stopped)
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=query.message.message_id, reply_markup=None)
    except TelegramBadRequest:
        await bot.send_message(chat_id, text)


async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer, l10n: Texts) -> None:
    """A button of the flow tapped outside its step (an old message, or after the flow ended)."""
    refuse(callback_answer, l10n, "alert-flow-expired")


async def use_buttons(message: Message, l10n: Texts) -> None:
    await message.answer(l10n("alert-use-buttons"))


# -- approvals and follow-ups ---------------------------------------------------------------------------


async def decide(
    query: CallbackQuery,
    callback_data: ApprovalDecision,
    callback_answer: CallbackAnswer,
    bot: Bot,
    l10n: Texts,
    alerts: AlertService,
    subscriptions: SubscriptionService,
    config: AppConfig,
) -> None:
    """A supervisor's Approve/Reject. The service decides who may (and audits who may not)."""
    user_id = _user_id(query)
    try:
        broadcast = await alerts.decide(user_id, callback_data.broadcast_id, approve=callback_data.approve)
    except AlertError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        return
    official = alerts.officials.get(user_id)
    key = "alert-approved" if callback_data.approve else "alert-rejected"
    args = {"id": broadcast.id, "approver": official.name if official else str(user_id), "total": broadcast.recipients}
    await _message(query).edit_text(l10n(key, **args))
    requester = broadcast.report_chat_id or broadcast.created_by
    texts = await _texts_for(requester, l10n, subscriptions, config)
    try:
        await bot.send_message(requester, texts(key, **args))
    except TelegramAPIError as error:
        log.warning("could not tell %s about the decision on #%s: %s", requester, broadcast.id, error)


async def start_follow_up(
    query: CallbackQuery,
    callback_data: FollowUpStart,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    l10n: Texts,
    alerts: AlertService,
) -> None:
    """Update, All clear or Sent in error under a final report: for the chats the original reached."""
    try:
        draft = await alerts.follow_up_draft(_user_id(query), callback_data.broadcast_id, callback_data.template)
    except AlertError as error:
        refuse(callback_answer, l10n, error.key, **error.args_for_text)
        return
    await state.clear()
    await _ask_variable(_Flow(_message(query), state, l10n, alerts, _user_id(query)), draft, 0, edit=False)


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = private_chats_only(Router(name=__name__))
    router.message.register(start_alert, Command("alert"))
    router.message.register(variable_answer, AlertCompose.variable, F.text)
    router.message.register(variable_not_text, AlertCompose.variable)
    router.message.register(send_at_answer, AlertCompose.send_at)
    router.message.register(use_buttons, StateFilter(AlertCompose))
    steps: list[tuple[Any, Any, Any]] = [
        (choose_template, AlertTemplateChoice, AlertCompose.template),
        (skip_variable, AlertSkip, AlertCompose.variable),
        (toggle_district, AlertDistrictToggle, AlertCompose.districts),
        (districts_done, AlertDistrictsDone, AlertCompose.districts),
        (choose_audience, AlertAudienceChoice, AlertCompose.audience),
        (choose_severity, AlertSeverityChoice, AlertCompose.severity),
        (choose_mode, AlertModeChoice, AlertCompose.mode),
        (confirm, AlertConfirm, AlertCompose.confirm),
        (ask_send_at, AlertSendAt, AlertCompose.confirm),
        (cancel, AlertCancel, StateFilter(AlertCompose)),
    ]
    for handler, factory, step in steps:
        router.callback_query.register(handler, factory.filter(), step, OnLiveMessage())
    for factory in dict.fromkeys(factory for _, factory, _ in steps):
        router.callback_query.register(stale_button, factory.filter())
    router.callback_query.register(decide, ApprovalDecision.filter())
    router.callback_query.register(start_follow_up, FollowUpStart.filter())
    router.callback_query.register(cancel_scheduled, ScheduledCancel.filter())
    return router

"""A warning drafted from an imported CAP message, put before the API key's official in the chat.

The official gets a note naming the message and the key, then the usual preview with Confirm/Cancel: the
/alert flow's confirm step, in their private chat's FSM state, so the tap goes through the same checks and the
two-person rule as a warning composed by hand.
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from alertbot.content.i18n import Texts, Translator
from alertbot.core.domain import Language
from alertbot.services.alerts import AlertService, Preview
from alertbot.services.drafts import AlertDraft
from alertbot.storage.broadcasts import BroadcastRepository
from alertbot.telegram.handlers.alert.steps import Flow, show_preview


class ImportedDrafts:
    def __init__(
        self, bot: Bot, dispatcher: Dispatcher, alerts: AlertService, translator: Translator,
        broadcasts: BroadcastRepository, default_language: Language,
    ) -> None:  # fmt: skip
        self._bot, self._dispatcher, self._alerts = bot, dispatcher, alerts
        self._translator, self._broadcasts, self._default = translator, broadcasts, default_language

    async def offer(self, official_id: int, draft: AlertDraft) -> Preview:
        """Check the draft (an AlertError refuses it before anything is shown), then show it to the official."""
        shown = await self._alerts.preview(official_id, draft)
        stored = (await self._broadcasts.languages_of([official_id])).get(official_id)
        l10n = Texts(self._translator, "zh" if stored == "zh" else "en" if stored else self._default)
        intro = await self._bot.send_message(official_id, l10n("cap-draft-offered", origin=draft.origin or ""))
        state = self._dispatcher.fsm.get_context(self._bot, chat_id=official_id, user_id=official_id)
        await state.clear()  # whatever the official was composing gives way to the incoming warning
        await show_preview(Flow(intro, state, l10n, self._alerts, official_id), shown, edit=False)
        return shown

"""FSM states of the multi-step chat flows."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    """A business typing its name: the one onboarding step that reads text (the other steps are buttons,
    which carry what they need, so choosing a kind or a category starts no flow and writes nothing)."""

    business_name = State()


class AlertCompose(StatesGroup):
    """/alert: template, its variables, districts, audience, severity, mode, then the preview to confirm.

    "⏰ Send at…" under the preview goes to `send_at` (the official types the time), then back to `confirm`
    with the time in the FSM data. Follow-ups start at `variable` (or straight at `confirm`) with a draft
    from the original broadcast.
    """

    template = State()
    variable = State()
    districts = State()
    audience = State()
    severity = State()
    mode = State()
    confirm = State()
    send_at = State()

"""FSM states of the multi-step chat flows."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    kind = State()
    category = State()
    business_name = State()
    districts = State()

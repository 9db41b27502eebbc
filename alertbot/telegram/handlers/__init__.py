"""Feature routers of the chat. `routers()` lists them; the fallback router is always last."""

from __future__ import annotations

from aiogram import Router

from alertbot.telegram.handlers import alert, campaigns, districts, fallback, help, onboarding, profile


def routers() -> list[Router]:
    """Fresh routers for one Dispatcher; the fallback router is last because it takes whatever is left."""
    modules = (onboarding, districts, profile, help, alert, campaigns, fallback)
    return [module.build_router() for module in modules]

"""Feature routers of the chat. `routers()` lists them; the fallback router is always last."""

from __future__ import annotations

from aiogram import Router

from alertbot.telegram.handlers import districts, fallback, help, onboarding, profile


def routers() -> list[Router]:
    return [onboarding.router, districts.router, profile.router, help.router, fallback.router]

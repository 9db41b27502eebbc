"""/alert for officials: compose from a template, preview exactly, confirm; approvals and follow-ups."""

from __future__ import annotations

from aiogram import Router


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    return Router(name=__name__)

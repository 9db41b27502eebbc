"""/campaigns and /stats for officials, /quiet for everyone, and the campaign acknowledgement button."""

from __future__ import annotations

from aiogram import Router


def build_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    return Router(name=__name__)

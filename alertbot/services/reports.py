"""What the officials' progress reporter reads and records: broadcasts going out, their counts, the report
message's id, and which supervisors an approval request reached (kept in the audit log)."""

from __future__ import annotations

from dataclasses import dataclass

from alertbot.config import DispatchConfig
from alertbot.core.domain import Broadcast, BroadcastStatus, DeliveryCounts
from alertbot.services.channels import ChannelDirectory
from alertbot.services.estimates import estimate
from alertbot.storage.audit import AuditLog
from alertbot.storage.broadcasts import BroadcastRepository
from alertbot.storage.channel_posts import ChannelPost, ChannelPostRepository

NOTIFIED = "notify_approval"
"""Audit action: an approval request reached a supervisor (so no other process sends it to them again)."""
UNREACHABLE = "approval_unreachable"
"""Audit action: the requester was told that no supervisor could be reached."""


@dataclass(frozen=True)
class ApprovalHistory:
    """What earlier passes (of any process) did for one approval request."""

    delivered: set[int]  # supervisors who have it
    requester_told: bool  # that nobody could be reached


class ReportService:
    def __init__(
        self,
        repository: BroadcastRepository,
        audit: AuditLog,
        channel_posts: ChannelPostRepository,
        dispatch: DispatchConfig,
        channels: ChannelDirectory | None = None,
    ) -> None:
        self._channels = channels or ChannelDirectory(())
        self._repo = repository
        self._audit = audit
        self._posts = channel_posts
        self._dispatch = dispatch

    async def seconds_left(self, broadcast: Broadcast) -> float:
        """The estimate of the preview, now: until the last of what is due at its priority or graver is sent."""
        queued = await self._repo.due_by_priority()
        return estimate(self._dispatch, broadcast.severity, 0, queued, exercise=broadcast.exercise).seconds

    async def delivery_span(self, broadcast_id: int) -> tuple[float, float] | None:
        """Seconds from queueing to the first and to the last delivery."""
        return await self._repo.delivery_span(broadcast_id)

    async def channel_posts(self, broadcast_id: int) -> list[ChannelPost]:
        return await self._posts.of(broadcast_id)

    async def channel_members(self, channel: str) -> int | None:
        """The channel's members as last looked up (None: not known)."""
        status = await self._channels.status(channel)
        return status.members if status else None

    async def going_out(self) -> list[Broadcast]:
        """Broadcasts queued and not yet finished."""
        return await self._repo.with_status(BroadcastStatus.QUEUED)

    async def progress(self, broadcast_id: int) -> tuple[DeliveryCounts, bool]:
        """The counts, and whether the broadcast is done (marked done now if every delivery has an outcome)."""
        counts = await self._repo.counts(broadcast_id)
        return counts, counts.open == 0 and await self._repo.finish_if_complete(broadcast_id)

    async def set_report_message(self, broadcast_id: int, message_id: int) -> None:
        await self._repo.set_report_message(broadcast_id, message_id)

    async def approvals_to_announce(self) -> list[Broadcast]:
        """Requests awaiting approval that not every supervisor has been told about."""
        return await self._repo.unnotified_approvals()

    async def approval_announced(self, broadcast_id: int) -> None:
        await self._repo.mark_approval_notified(broadcast_id)

    async def approval_delivered(self, broadcast_id: int, supervisor: int) -> None:
        await self._audit.record(NOTIFIED, actor_id=None, broadcast_id=broadcast_id, supervisor=supervisor)

    async def approval_unreachable(self, broadcast_id: int, supervisors: list[int]) -> None:
        await self._audit.record(UNREACHABLE, actor_id=None, broadcast_id=broadcast_id, supervisors=supervisors)

    async def approval_history(self, broadcast: Broadcast) -> ApprovalHistory:
        entries = [e for e in await self._audit.entries(since=broadcast.created_at) if e.broadcast_id == broadcast.id]
        delivered = {int(e.details["supervisor"]) for e in entries
                     if e.action == NOTIFIED and isinstance(e.details.get("supervisor"), int)}  # fmt: skip
        return ApprovalHistory(delivered, requester_told=any(e.action == UNREACHABLE for e in entries))

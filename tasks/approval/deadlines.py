"""Deadlines of approval tasks in working days (DOMAIN 2.7), and the sweep that reminds, then escalates.

A task's due moment and its escalation moment are fixed when it opens, from the year's calendar (holidays
and make-up workdays). The sweep is set-based: one chunk of overdue tasks at a time gets its reminder (to
whoever holds the task, else to the reviewers of its level at its org), and a chunk past its escalation
moment is escalated to the nearest supervisor of its level above or at its org (else to the reviewer group).
Every reminder and escalation is an audit event; an escalation is also an outbox event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from models.approvals import ApprovalTask
from models.events import TaskEscalated
from models.notifications import Notification, NotificationKind
from models.sql import id_in
from models.states import Actor, emit_all, record_all
from models.users import REVIEW_LEVEL_OF_ROLE, Role, User
from tasks.approval.queue import OPEN_STATUSES
from tasks.common.labels import label

TASK = ApprovalTask.__table__  # type: ignore[attr-defined]
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]


def _undone(session: Session, moment: Any, done: Any, as_of: datetime, limit: int) -> list[Any]:
    """One chunk of open or taken tasks whose `moment` came by `as_of` and whose `done` mark is still empty."""
    return list(
        session.execute(
            select(TASK.c.id, TASK.c.org_unit_id, TASK.c.org_path, TASK.c.level, TASK.c.assignee_id, TASK.c.claim_id)
            .where(TASK.c.status.in_([str(s) for s in OPEN_STATUSES]), moment <= as_of, done.is_(None))
            .order_by(TASK.c.id)
            .limit(limit)
            .with_for_update()
        ).all()
    )


def remind_overdue(*, session: Session, as_of: datetime, actor: Actor, limit: int = 5000) -> int:
    """Remind one chunk of tasks that fell due by `as_of` and were not reminded yet; return how many."""
    rows = _undone(session, TASK.c.due_at, TASK.c.reminded_at, as_of, limit)
    if not rows:
        return 0
    level_name = {level: label("task_level", level, "zh-CN") for level in {r.level for r in rows}}
    notifications = [
        {
            "kind": NotificationKind.TASK_OVERDUE.value,
            "recipient_user_id": r.assignee_id,
            "recipient_org_id": None if r.assignee_id else r.org_unit_id,
            "recipient_level": None if r.assignee_id else r.level,
            "task_id": r.id,
            "claim_id": r.claim_id,
            "message": f"{level_name[r.level]}任务 {r.id} 已到办理期限，请尽快处理",
            "created_at": as_of,
        }
        for r in rows
    ]
    session.execute(insert(NOTIFICATION), notifications)
    record_all(session, "approval_task", [r.id for r in rows], "task.reminded", actor=actor, at=as_of)
    session.execute(update(TASK).where(id_in(session, TASK.c.id, [r.id for r in rows])).values(reminded_at=as_of))
    return len(rows)


def escalate_overdue(*, session: Session, as_of: datetime, actor: Actor, limit: int = 5000) -> int:
    """Escalate one chunk of tasks past their escalation moment to their level's supervisor; return how many."""
    rows = _undone(session, TASK.c.escalate_at, TASK.c.escalated_at, as_of, limit)
    if not rows:
        return 0
    supervisors = Supervisors(session)
    notifications, by_supervisor = [], {}
    for r in rows:
        supervisor = supervisors.of(r.org_path, r.level)
        by_supervisor[r.id] = supervisor
        notifications.append(
            {
                "kind": NotificationKind.TASK_ESCALATED.value,
                "recipient_user_id": supervisor,
                "recipient_org_id": None if supervisor else r.org_unit_id,
                "recipient_level": None if supervisor else r.level,
                "task_id": r.id,
                "claim_id": r.claim_id,
                "message": f"任务 {r.id} 超过办理期限仍未处理，已提请督办"
                + ("" if supervisor else "（本级未设督办主管）"),
                "created_at": as_of,
            }
        )
    session.execute(insert(NOTIFICATION), notifications)
    for supervisor in set(by_supervisor.values()):
        ids = [task_id for task_id, s in by_supervisor.items() if s == supervisor]
        record_all(
            session, "approval_task", ids, "task.escalated", actor=actor, data={"supervisor_id": supervisor}, at=as_of
        )
        session.execute(
            update(TASK).where(id_in(session, TASK.c.id, ids)).values(escalated_at=as_of, escalated_to_id=supervisor)
        )
    escalated = [TaskEscalated(task_id=r.id, claim_id=r.claim_id, supervisor_id=by_supervisor[r.id]) for r in rows]
    emit_all(session, escalated, at=as_of)
    return len(rows)


class Supervisors:
    """The nearest active supervisor of a level at or above an org unit, found once per org path and level."""

    def __init__(self, session: Session) -> None:
        self._by_org_level: dict[tuple[int, int], int] = {}
        roles = [str(role) for role in Role if role in REVIEW_LEVEL_OF_ROLE]
        for user_id, org_id, role in session.execute(
            select(col(User.id), col(User.org_unit_id), col(User.role))
            .where(col(User.is_supervisor).is_(True), col(User.is_active).is_(True), col(User.role).in_(roles))
            .order_by(col(User.id))
        ).all():
            level = REVIEW_LEVEL_OF_ROLE[Role(role)]
            if org_id is not None and user_id is not None:
                self._by_org_level.setdefault((org_id, level), user_id)

    def of(self, org_path: str, level: int) -> int | None:
        """The supervisor nearest to the org at the end of `org_path` (itself first, then its ancestors)."""
        for org_id in reversed([int(p) for p in org_path.strip("/").split("/") if p]):
            found = self._by_org_level.get((org_id, level))
            if found is not None:
                return found
        return None

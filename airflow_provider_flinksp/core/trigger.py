"""The deferred wait every backend shares: :class:`PollingTrigger` polls in the triggerer's event
loop until its check gives an outcome, and yields it as the one event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_flinksp.core.events import api_failure_event, timeout_event, verdict_event
from airflow_provider_flinksp.core.waiting import ProgressLog, Verdict
from airflow_provider_flinksp.exceptions import FlinkspError


class PollingTrigger(BaseTrigger):
    """Poll :meth:`acheck` every ``poll_interval`` seconds until done, failed, or ``deadline``.

    The first check comes one interval after the deferral (the task checked just before it
    deferred), or at the deadline if that is sooner. Polls keep a fixed schedule (a slow poll
    shortens the next sleep, down to half the interval, rather than shifting every later poll),
    the trigger sleeps in every branch, and it yields exactly one event (see
    :mod:`airflow_provider_flinksp.core.events`).

    :param deadline: absolute wall-clock deadline, epoch seconds
    :param poll_interval: seconds between two checks
    """

    def __init__(self, *, deadline: float, poll_interval: float) -> None:
        super().__init__()
        self.deadline = deadline
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the plain keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"deadline": self.deadline, "poll_interval": self.poll_interval, **self.serialize_fields()},
        )

    def serialize_fields(self) -> dict[str, Any]:
        """The backend's own keyword arguments (plain values only)."""
        raise NotImplementedError

    def acheck(self) -> Awaitable[Verdict]:
        """Fetch and judge once; transient errors give "waiting", others raise (a coroutine)."""
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until there is an outcome; yield it as the one event."""
        # the class's logger, shared by every trigger of the class: the triggerer routes a line to
        # its task's log by the trigger ID it binds to the running trigger's context, so one logger
        # serves them all (a logger per trigger cost some 20 objects each at N=1,000)
        progress = ProgressLog(type(self).logger())
        if time.time() >= self.deadline:
            yield TriggerEvent(timeout_event("no answer yet"))
            return
        next_poll = time.monotonic() + self.poll_interval
        while True:
            now = time.monotonic()
            await asyncio.sleep(max(0.0, min(next_poll - now, self.deadline - time.time())))
            if progress.last is not None and time.time() >= self.deadline:
                yield TriggerEvent(timeout_event(progress.last))
                return
            try:
                verdict = await self.acheck()
            except FlinkspError as exc:
                yield TriggerEvent(api_failure_event(exc))
                return
            if verdict.status != "waiting":
                yield TriggerEvent(verdict_event(verdict))
                return
            progress.report(verdict)
            # on schedule (a late poll does not push every later one back), but never sooner than
            # half an interval after the last answer
            now = time.monotonic()
            next_poll = max(next_poll + self.poll_interval, now + self.poll_interval / 2)

"""PollingTrigger's schedule, with a scripted check in place of a backend (no HTTP)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_provider_flinksp.core.trigger import PollingTrigger
from airflow_provider_flinksp.core.waiting import Verdict

INTERVAL = 0.2


class Scripted(PollingTrigger):
    """Every check says "waiting" after sleeping the next of ``durations`` seconds."""

    def __init__(self, durations: list[float]) -> None:
        super().__init__(deadline=time.time() + 60, poll_interval=INTERVAL)
        self.durations = durations
        self.starts: list[float] = []
        self.ends: list[float] = []

    def serialize_fields(self) -> dict[str, Any]:
        return {}

    async def acheck(self) -> Verdict:  # type: ignore[override]
        self.starts.append(time.monotonic())
        await asyncio.sleep(self.durations[len(self.ends)] if len(self.ends) < len(self.durations) else 0)
        self.ends.append(time.monotonic())
        return Verdict("waiting", "still waiting")


def run_polls(trigger: Scripted, polls: int) -> float:
    """Run the trigger until it has started ``polls`` checks; return when it was started."""

    async def main() -> float:
        started = time.monotonic()

        async def first_event() -> Any:
            return await anext(trigger.run())

        task = asyncio.create_task(first_event())
        while len(trigger.starts) < polls:
            await asyncio.sleep(0.005)
        task.cancel()
        return started

    return asyncio.run(main())


def test_polls_keep_a_fixed_schedule() -> None:
    """The first check one interval after the start; a poll slower than its share of the interval
    shortens the next sleep instead of pushing every later poll back."""
    trigger = Scripted([INTERVAL / 2] * 3)
    started = run_polls(trigger, 4)
    offsets = [start - started for start in trigger.starts]
    assert offsets[0] >= INTERVAL * 0.9, offsets  # not at once: the task checked just before deferring
    assert all(INTERVAL * n * 0.95 <= offset for n, offset in enumerate(offsets, 1)), offsets
    # on the 4th tick (0.8 s), not an interval after each answer (1.1 s)
    assert offsets[3] < INTERVAL * 4 + 0.15, offsets


def test_after_a_slow_poll_the_next_waits_half_an_interval() -> None:
    """A poll that outlasts its interval is not followed by one at once (that would hammer a slow
    server): at least half an interval passes after its answer."""
    trigger = Scripted([INTERVAL * 2.5])
    run_polls(trigger, 2)
    gap = trigger.starts[1] - trigger.ends[0]
    assert gap >= INTERVAL / 2 * 0.9, gap

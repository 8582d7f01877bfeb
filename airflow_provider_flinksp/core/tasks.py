"""The task base every sensor and operator of this provider shares: the hook made lazily (never
at DAG parse time), the deferral to a trigger with an absolute deadline, and progress logging."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from airflow_provider_flinksp.core.waiting import ProgressLog

#: Extra time the task's own deferral timeout leaves the trigger to report a timeout itself.
DEFERRAL_TIMEOUT_SLACK = 60.0


class HookTask:
    """Mixin for a task that talks to an API through a hook."""

    log: Any

    def make_hook(self) -> Any:
        """Build the backend's hook from the task's settings."""
        raise NotImplementedError

    @cached_property
    def hook(self) -> Any:
        """The hook, made at the first use (never at DAG parse time)."""
        return self.make_hook()

    @cached_property
    def progress(self) -> ProgressLog:
        """Logs what the task's waiting learns, a line per change."""
        from airflow_provider_flinksp.core.waiting import ProgressLog

        return ProgressLog(self.log)

    def defer_to(
        self,
        trigger: Any,
        *,
        deadline: float,
        method_name: str = "execute_complete",
        kwargs: dict[str, Any] | None = None,
    ) -> NoReturn:
        """Hand the wait to ``trigger``; the task's own timeout leaves it time to report a timeout.

        :param trigger: the trigger
        :param deadline: absolute wall-clock deadline, epoch seconds (the trigger's own)
        :param method_name: the method the task resumes in
        :param kwargs: extra keyword arguments for that method
        """
        timeout = timedelta(seconds=max(0.0, deadline - time.time()) + DEFERRAL_TIMEOUT_SLACK)
        self.defer(  # type: ignore[attr-defined]
            trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout
        )
        raise AssertionError("defer() returned")  # pragma: no cover - defer always raises

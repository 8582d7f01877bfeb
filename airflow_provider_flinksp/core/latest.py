"""The "push the latest savepoint" operators' flow, whatever the backend: :class:`LatestSavepointTask`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp._compat import AirflowSkipException
from airflow_provider_flinksp.core.checks import as_seconds
from airflow_provider_flinksp.core.tasks import ApiTask

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from airflow_provider_flinksp.core.models import Savepoint


class LatestSavepointTask(ApiTask):
    """Choose one completed savepoint, return its dict and push its location under the XCom key
    ``savepoint_location``; when there is none, fail or skip.

    :param max_age: fail if the chosen savepoint was triggered longer ago than this (or has no
        trigger time); a timedelta or seconds
    :param if_none: ``"fail"`` (default) or ``"skip"`` the task when nothing matches
    """

    def __init__(
        self, *, max_age: timedelta | float | None = None, if_none: str = "fail", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if if_none not in ("fail", "skip"):
            raise ValueError(f'if_none must be "fail" or "skip", got {if_none!r}')
        self.max_age = None if max_age is None else timedelta(seconds=as_seconds(max_age, "max_age"))
        self.if_none = if_none

    @property
    def _job(self) -> str:
        """The job, as messages name it."""
        raise NotImplementedError

    def _choose(self) -> tuple[Savepoint | None, str]:
        """Read the savepoints and choose: the savepoint (None when there is none) and what was found."""
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the savepoints, choose, push the location; fail or skip when nothing matches."""
        chosen, found = self._choose()
        if chosen is None:
            message = f"No savepoint of job {self._job} to choose: {found}"
            if self.if_none == "skip":
                raise AirflowSkipException(message)
            raise self.error(message)
        self.log.info("Chose savepoint %s at %s (%s)", chosen.describe(), chosen.location, found)
        context["ti"].xcom_push(key="savepoint_location", value=chosen.location)
        self._publish(context, chosen.to_dict())
        return chosen.to_dict()

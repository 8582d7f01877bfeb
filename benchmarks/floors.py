"""The floors of target 3: minimal triggers doing the same polls as the shipped triggers.

For ``LakeSailSavepointTrigger``, each poll GETs the savepoint list, fires when nothing is pending,
and otherwise GETs the job (its state) before sleeping the interval. For ``FlinkSavepointTrigger``
(:class:`MinimalFlinkAiohttpTrigger`), each poll GETs the savepoint's status, fires when it is
``COMPLETED``, and otherwise GETs the job. The same requests the real triggers make, with no retry
policy, no model parsing and no error classification. One client per event loop is shared by all.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from benchmarks import TOKEN

_TERMINAL = ("FAILED", "DELETING")
_FLINK_ENDED = ("FAILED", "CANCELED", "FINISHED", "SUSPENDED")


def _base_url() -> str:
    return str(json.loads(os.environ["AIRFLOW_CONN_LAKESAIL_DEFAULT"])["host"])


class _MinimalTrigger(BaseTrigger):
    """Shared parts: IDs, interval, URLs, the poll loop; subclasses say how to GET JSON."""

    def __init__(self, *, workspace_id: str, session_id: str, job_id: str, poll_interval: float) -> None:
        super().__init__()
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.job_id = job_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "workspace_id": self.workspace_id,
                "session_id": self.session_id,
                "job_id": self.job_id,
                "poll_interval": self.poll_interval,
            },
        )

    async def get_json(self, url: str) -> Any:
        raise NotImplementedError

    def urls(self) -> tuple[str, str]:
        """The URL polled first (the savepoint list) and the job's URL."""
        job_url = (
            f"{_base_url()}/api/flink/v1/workspaces/{self.workspace_id}"
            f"/sessions/{self.session_id}/jobs/{self.job_id}"
        )
        return job_url + "/savepoints", job_url

    def outcome(self, answer: Any) -> dict[str, Any] | None:
        """The event when the first answer says done (nothing pending), else None."""
        return None if answer["pending"] else {"status": "success", "savepoint": answer["completed"][-1]}

    ended = _TERMINAL

    async def run(self) -> AsyncIterator[TriggerEvent]:
        first_url, job_url = self.urls()
        while True:
            event = self.outcome(await self.get_json(first_url))
            if event is not None:
                yield TriggerEvent(event)
                return
            state = (await self.get_json(job_url))["state"]
            if state in self.ended:
                yield TriggerEvent({"status": "failed", "message": f"job {state}"})
                return
            await asyncio.sleep(self.poll_interval)


class MinimalAiohttpTrigger(_MinimalTrigger):
    """The floor: one keep-alive ``aiohttp.ClientSession`` per event loop."""

    _sessions: ClassVar[dict[asyncio.AbstractEventLoop, Any]] = {}

    async def get_json(self, url: str) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None:
            session = self._sessions[loop] = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
            )
        async with session.get(url) as response:
            response.raise_for_status()
            return json.loads(await response.read())


class MinimalHttpxTrigger(_MinimalTrigger):
    """The same with one shared ``httpx.AsyncClient`` per event loop (what Airflow ships)."""

    _clients: ClassVar[dict[asyncio.AbstractEventLoop, Any]] = {}

    async def get_json(self, url: str) -> Any:
        import httpx

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = httpx.AsyncClient(
                headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
            )
        response = await client.get(url)
        response.raise_for_status()
        return json.loads(response.content)


class MinimalFlinkAiohttpTrigger(MinimalAiohttpTrigger):
    """The Flink floor: the status and job GETs of ``FlinkSavepointTrigger``, on the same shared
    aiohttp session (``session_id`` holds the trigger ID; there is no workspace)."""

    ended = _FLINK_ENDED

    def __init__(self, *, job_id: str, trigger_id: str, poll_interval: float) -> None:
        super().__init__(workspace_id="", session_id=trigger_id, job_id=job_id, poll_interval=poll_interval)

    def urls(self) -> tuple[str, str]:
        job_url = f"{json.loads(os.environ['AIRFLOW_CONN_FLINK_DEFAULT'])['host']}/jobs/{self.job_id}"
        return f"{job_url}/savepoints/{self.session_id}", job_url

    def outcome(self, answer: Any) -> dict[str, Any] | None:
        if answer["status"]["id"] != "COMPLETED":
            return None
        return {"status": "success", "location": answer["operation"]["location"]}

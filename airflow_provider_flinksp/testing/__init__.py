"""Testing helpers: an embedded fake LakeSail API server (standard library only).

Typical use::

    from airflow_provider_flinksp.testing import FakeLakeSail

    with FakeLakeSail(token="test-token") as srv:
        srv.add_job("WS1", "SESS1", "JOB1")
        ...  # point a connection at srv.url with password srv.token

Run ``python -m airflow_provider_flinksp.testing`` for a standalone server with a demo job.

The parts: :mod:`.state` and :mod:`.job` (sessions, jobs and the savepoint life cycle), :mod:`.faults`
(fault injection), :mod:`.server` (HTTP and its table of routes), :mod:`.records` (what was received)
and :mod:`.fake` (:class:`FakeLakeSail`, which puts them together).
"""

from __future__ import annotations

from airflow_provider_flinksp.testing.fake import FakeLakeSail
from airflow_provider_flinksp.testing.faults import FAULT_KINDS, Fault, RandomFaults
from airflow_provider_flinksp.testing.job import JOB_STATES, FakeJob, FakeLakeSailError, format_timestamp
from airflow_provider_flinksp.testing.records import Arrival, RecordedRequest
from airflow_provider_flinksp.testing.state import PENDING_POLICIES, FakeClock

__all__ = [
    "FAULT_KINDS",
    "JOB_STATES",
    "PENDING_POLICIES",
    "Arrival",
    "FakeClock",
    "FakeJob",
    "FakeLakeSail",
    "FakeLakeSailError",
    "Fault",
    "RandomFaults",
    "RecordedRequest",
    "format_timestamp",
]

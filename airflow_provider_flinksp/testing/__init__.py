"""Testing helpers: an embedded fake LakeSail API server (standard library only).

Typical use::

    from airflow_provider_flinksp.testing import FakeLakeSail

    with FakeLakeSail(token="test-token") as srv:
        srv.add_job("WS1", "SESS1", "JOB1")
        ...  # point a connection at srv.url with password srv.token

Run ``python -m airflow_provider_flinksp.testing`` for a standalone server with a demo job.
"""

from __future__ import annotations

from airflow_provider_flinksp.testing.fake_server import (
    FAULT_KINDS,
    JOB_STATES,
    FakeClock,
    FakeJob,
    FakeLakeSail,
    FakeLakeSailError,
    RecordedRequest,
    format_timestamp,
)

__all__ = [
    "FAULT_KINDS",
    "JOB_STATES",
    "FakeClock",
    "FakeJob",
    "FakeLakeSail",
    "FakeLakeSailError",
    "RecordedRequest",
    "format_timestamp",
]

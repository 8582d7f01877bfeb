"""The ``flink`` connection type's form (plain data: imported by the provider info)."""

from __future__ import annotations

from typing import Any

#: The ``flink`` connection form, as Airflow 3.2+ reads it from :func:`get_provider_info`.
CONNECTION_FORM: dict[str, Any] = {
    "hidden-fields": [],
    "relabeling": {
        "host": "REST URL",
        "login": "Login (basic auth; leave empty for a bearer token)",
        "password": "Password or bearer token",
        "schema": "Scheme (for a host without one)",
    },
    "placeholders": {
        "host": "http://jobmanager:8081",
        "login": "optional: basic auth user of a gateway in front of Flink",
        "password": "optional: basic auth password, or a bearer token alone",
        "schema": "http",
        "port": "8081",
        "extra": (
            '{"timeout": 30, "verify": true, "retry_limit": 3, "retry_delay": 1.0, '
            '"savepoint_dir": "s3://bucket/savepoints"}'
        ),
    },
}

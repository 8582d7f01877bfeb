"""The ``flink`` connection type's form (plain data: imported by the provider info)."""

from __future__ import annotations

from typing import Any

from airflow_provider_flinksp.core.connection_form import WIRE_FIELDS, extra_field

#: The typed extras of the form (Airflow 3 ``conn-fields``; widgets on Airflow 2.11).
CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    **WIRE_FIELDS,
    "savepoint_dir": extra_field(
        "Savepoint directory",
        "string",
        "",
        "Default target directory of savepoints, e.g. s3://bucket/savepoints (empty: the cluster's "
        "state.savepoints.dir).",
    ),
}

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
        **{name: str(field["schema"]["default"]) for name, field in WIRE_FIELDS.items()},
        "savepoint_dir": "s3://bucket/savepoints",
    },
}

"""The ``lakesail`` connection type's form (plain data: imported by the provider info)."""

from __future__ import annotations

from typing import Any

from airflow_provider_flinksp.core.connection_form import WIRE_FIELDS

#: The typed extras of the form (Airflow 3 ``conn-fields``; widgets on Airflow 2.11).
CONNECTION_FIELDS: dict[str, dict[str, Any]] = dict(WIRE_FIELDS)

#: The ``lakesail`` connection form, as Airflow 3.2+ reads it from :func:`get_provider_info`.
CONNECTION_FORM: dict[str, Any] = {
    "hidden-fields": ["login"],
    "relabeling": {"host": "API URL", "password": "API key", "schema": "Scheme (for a host without one)"},
    "placeholders": {
        "host": "https://lakesail.example.com",
        "password": "service-account key or access token",
        "schema": "https",
        "port": "443",
        "extra": '{"timeout": 30, "verify": true, "retry_limit": 3, "retry_delay": 1.0}',
        **{name: str(field["schema"]["default"]) for name, field in CONNECTION_FIELDS.items()},
    },
}

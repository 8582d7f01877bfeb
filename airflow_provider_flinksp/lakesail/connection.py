"""The ``lakesail`` connection type's form (plain data: imported by the provider info)."""

from __future__ import annotations

from typing import Any

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
    },
}

"""Apache Airflow provider for the savepoints of Flink session jobs on LakeSail.

Importing this package is cheap: it loads neither Airflow's heavy parts nor an HTTP client.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

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


def get_provider_info() -> dict[str, Any]:
    """What Airflow's providers manager reads through the ``apache_airflow_provider`` entry point."""
    integration = "LakeSail Flink"
    return {
        "package-name": "airflow-provider-flinksp",
        "name": "LakeSail Flink savepoints",
        "description": "Gate DAGs on, trigger and restore from savepoints of Flink session jobs on LakeSail.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": integration,
                "external-doc-url": "https://docs.lakesail.com/platform/reference/api",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": integration, "python-modules": ["airflow_provider_flinksp.hooks"]}],
        "sensors": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flinksp.sensors"]}
        ],
        "operators": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flinksp.operators"]}
        ],
        "triggers": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flinksp.triggers"]}
        ],
        "connection-types": [
            {
                "connection-type": "lakesail",
                "hook-class-name": "airflow_provider_flinksp.hooks.LakeSailHook",
                "hook-name": "LakeSail",
                "ui-field-behaviour": CONNECTION_FORM,
            }
        ],
    }

"""Apache Airflow provider for the savepoints of Flink session jobs on LakeSail.

Importing this package is cheap: it loads neither Airflow's heavy parts nor an HTTP client.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_flinksp.lakesail.connection import CONNECTION_FIELDS, CONNECTION_FORM

__version__ = "0.1.0"


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
        # The savepoint assets' URI scheme: Airflow 3 reads "asset-uris", Airflow 2.11 "dataset-uris".
        "asset-uris": [
            {"schemes": ["lakesail"], "handler": "airflow_provider_flinksp.assets.normalize_lakesail_uri"}
        ],
        "dataset-uris": [
            {"schemes": ["lakesail"], "handler": "airflow_provider_flinksp.assets.normalize_lakesail_uri"}
        ],
        "connection-types": [
            {
                "connection-type": "lakesail",
                "hook-class-name": "airflow_provider_flinksp.hooks.LakeSailHook",
                "hook-name": "LakeSail",
                "conn-fields": CONNECTION_FIELDS,
                "ui-field-behaviour": CONNECTION_FORM,
            }
        ],
    }

"""Apache Airflow provider for Flink savepoints: on LakeSail's managed Flink API and on Apache
Flink's own REST API.

Importing this package is cheap: it loads neither Airflow's heavy parts nor an HTTP client.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_flinksp.flink.connection import CONNECTION_FIELDS as FLINK_CONNECTION_FIELDS
from airflow_provider_flinksp.flink.connection import CONNECTION_FORM as FLINK_CONNECTION_FORM
from airflow_provider_flinksp.lakesail.connection import CONNECTION_FIELDS, CONNECTION_FORM

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """What Airflow's providers manager reads through the ``apache_airflow_provider`` entry point."""
    integration = "LakeSail Flink"
    flink = "Apache Flink REST API"
    return {
        "package-name": "airflow-provider-flinksp",
        "name": "Flink savepoints",
        "description": "Gate DAGs on, trigger and restore from Flink savepoints: session jobs on "
        "LakeSail, and jobs on any Flink cluster through its REST API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": integration,
                "external-doc-url": "https://docs.lakesail.com/platform/reference/api",
                "tags": ["service"],
            },
            {
                "integration-name": flink,
                "external-doc-url": "https://nightlies.apache.org/flink/flink-docs-stable/docs/ops/rest_api/",
                "tags": ["software"],
            },
        ],
        "hooks": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flinksp.hooks"]},
            {"integration-name": flink, "python-modules": ["airflow_provider_flinksp.flink.hook"]},
        ],
        "sensors": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flinksp.sensors"]},
            {"integration-name": flink, "python-modules": ["airflow_provider_flinksp.flink.sensors"]},
        ],
        "operators": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flinksp.operators"]},
            {"integration-name": flink, "python-modules": ["airflow_provider_flinksp.flink.operators"]},
        ],
        "triggers": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flinksp.triggers"]},
            {"integration-name": flink, "python-modules": ["airflow_provider_flinksp.flink.triggers"]},
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
            },
            {
                "connection-type": "flink",
                "hook-class-name": "airflow_provider_flinksp.hooks.FlinkRestHook",
                "hook-name": "Apache Flink REST",
                "conn-fields": FLINK_CONNECTION_FIELDS,
                "ui-field-behaviour": FLINK_CONNECTION_FORM,
            },
        ],
    }

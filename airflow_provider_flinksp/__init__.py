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
#: The kinds of classes the provider info lists, and the module of Flink's in :mod:`.flink`.
_KINDS = (("hooks", "hook"), ("sensors", "sensors"), ("operators", "operators"), ("triggers", "triggers"))


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
        # LakeSail's classes are listed through the public modules, Flink's through its own
        **{
            kind: [
                {"integration-name": integration, "python-modules": [f"airflow_provider_flinksp.{kind}"]},
                {"integration-name": flink, "python-modules": [f"airflow_provider_flinksp.flink.{module}"]},
            ]
            for kind, module in _KINDS
        },
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

"""Public home of the provider's sensors (defined per backend in :mod:`.lakesail` and :mod:`.flink`).

Importing this module at DAG parse time loads no HTTP client and no hook, and a name's backend is
loaded only when the name is used (a LakeSail DAG does not load the Flink classes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_flinksp._lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_flinksp.flink.sensors import FlinkSavepointSensor
    from airflow_provider_flinksp.lakesail.sensors import LakeSailSavepointSensor
    from airflow_provider_flinksp.lakesail.session_jobs import LakeSailSessionJobSensor

__all__ = ["FlinkSavepointSensor", "LakeSailSavepointSensor", "LakeSailSessionJobSensor"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "FlinkSavepointSensor": "airflow_provider_flinksp.flink.sensors",
        "LakeSailSavepointSensor": "airflow_provider_flinksp.lakesail.sensors",
        "LakeSailSessionJobSensor": "airflow_provider_flinksp.lakesail.session_jobs",
    },
)

"""Public home of the provider's sensors (defined per backend in :mod:`.lakesail` and :mod:`.flink`).

Importing this module at DAG parse time loads no HTTP client and no hook.
"""

from __future__ import annotations

from airflow_provider_flinksp.flink.sensors import FlinkSavepointSensor
from airflow_provider_flinksp.lakesail.sensors import LakeSailSavepointSensor
from airflow_provider_flinksp.lakesail.session_jobs import LakeSailSessionJobSensor

__all__ = ["FlinkSavepointSensor", "LakeSailSavepointSensor", "LakeSailSessionJobSensor"]

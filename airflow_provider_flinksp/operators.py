"""Public home of the provider's operators (defined per backend in :mod:`.lakesail` and :mod:`.flink`).

Importing this module at DAG parse time loads no HTTP client and no hook.
"""

from __future__ import annotations

from airflow_provider_flinksp.flink.operators import (
    FlinkLatestSavepointOperator,
    FlinkRunJarOperator,
    FlinkTriggerSavepointOperator,
)
from airflow_provider_flinksp.lakesail.operators import (
    LakeSailLatestSavepointOperator,
    LakeSailTriggerSavepointOperator,
)
from airflow_provider_flinksp.lakesail.session_jobs import LakeSailCreateSessionJobOperator

__all__ = [
    "FlinkLatestSavepointOperator",
    "FlinkRunJarOperator",
    "FlinkTriggerSavepointOperator",
    "LakeSailCreateSessionJobOperator",
    "LakeSailLatestSavepointOperator",
    "LakeSailTriggerSavepointOperator",
]

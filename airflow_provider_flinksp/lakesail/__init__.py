"""The LakeSail backend: LakeSail's managed Flink API (hook, models, sensor, operators, trigger)."""

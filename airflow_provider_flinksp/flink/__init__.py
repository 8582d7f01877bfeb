"""The Flink backend: Apache Flink's own REST API (hook, models, sensor, operators, trigger)."""

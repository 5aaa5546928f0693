"""Outcomes: case records and evaluations through DuckDB — bulk validation, accumulation across
nightly runs, working-day statistics, anonymised case records. Never per-row Python objects:
the same SQL is what a Spark/Trino deployment would run at national scale."""

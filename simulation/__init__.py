"""`tongban simulate`: a scenario run on the time-skipping Temporal test server, with the real
workflow, definitions and working-day calendar."""

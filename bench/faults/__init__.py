"""`make faults`: the production topology on one machine, under load, through its faults.

Two API processes (`tongban api --workers 2`), two workers, PostgreSQL (the local cluster,
a database of its own) and the Temporal dev server (its state in a file), under a stream of
company setups; in turn a worker and an API process are killed, Temporal is stopped and
started again on its file, and PostgreSQL is stopped for 30 s. Then every application must
have reached its end with nothing written twice, and no request have met a 500.
"""

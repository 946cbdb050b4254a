"""One application's state and every transition it can make, pure and deterministic.

`core` holds the `Case` (status, clocks, records) and what every transition shares; each
other module is one procedure: the checks that may refuse an action (run by the workflow's
validators and again under its lock) next to what taking it does.
"""

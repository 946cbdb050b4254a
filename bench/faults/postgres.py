"""The machine's PostgreSQL cluster: a database of the fault test's own, and stopping and
starting the cluster (others use it: whoever stops it must make sure it is started again)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

NAME = "tongban_faults"


def _psql(sql: str) -> None:
    subprocess.run(
        ["su", "postgres", "-c", f'psql -q -v ON_ERROR_STOP=1 -c "{sql}"'],
        check=True,
        capture_output=True,
    )


@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    port: int

    @classmethod
    def local(cls) -> Cluster:
        line = subprocess.run(
            ["pg_lsclusters", "--no-header"], check=True, capture_output=True, text=True
        ).stdout.splitlines()[0]
        version, name, port = line.split()[:3]
        return cls(version, name, int(port))

    @property
    def url(self) -> str:
        return self.url_for(NAME)

    def url_for(self, name: str) -> str:
        """The database `name`, owned by a role of the same name and password."""
        return f"postgresql+psycopg://{name}:{name}@127.0.0.1:{self.port}/{name}"

    def fresh_database(self, name: str = NAME) -> None:
        """As .ci/run does: a role and a database of our own, empty."""
        self.start()
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _psql(f"DROP ROLE IF EXISTS {name}")
        _psql(f"CREATE ROLE {name} LOGIN PASSWORD '{name}'")
        _psql(f"CREATE DATABASE {name} OWNER {name}")

    def stop(self) -> None:
        # fast: open connections are cut, as when the server crashes or is failed over.
        subprocess.run(
            ["pg_ctlcluster", self.version, self.name, "stop", "-m", "fast"],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        """Start it if it is not running (idempotent), and wait until it takes connections."""
        # "already running" is fine; its words must not mix with the JSON on stdout.
        subprocess.run(
            ["pg_ctlcluster", self.version, self.name, "start"], check=False, capture_output=True
        )
        for _ in range(60):
            ready = subprocess.run(
                ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
            )
            if ready.returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("PostgreSQL did not come back")

"""`tongban`: the command line. Each area's subcommands live in their own module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cli import (
    calendar_cmd,
    catalogue_cmd,
    clients_cmd,
    definitions_cmd,
    dev_stack,
    licences_cmd,
    service_cmd,
    simulate,
    sms_sink,
    statistics_cmd,
    subscriptions_cmd,
    users_cmd,
)
from cli.errors import CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tongban", description="Tongban (通办): parallel approvals for service centres"
    )
    areas = parser.add_subparsers(dest="area", required=True, metavar="COMMAND")
    definitions_cmd.register(areas)
    calendar_cmd.register(areas)
    service_cmd.register(areas)
    dev_stack.register(areas)
    users_cmd.register(areas)
    licences_cmd.register(areas)
    sms_sink.register(areas)
    clients_cmd.register(areas)
    subscriptions_cmd.register(areas)
    catalogue_cmd.register(areas)
    statistics_cmd.register(areas)
    simulate.register(areas)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run a command. What it cannot do (`CliError`) is one line on stderr and exit 1; a
    reader that stops early (`tongban users list | head -1`) ends it quietly."""
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not in interpreter shutdown
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:  # Ctrl-C on a command that runs until stopped (sms-sink...)
        print(file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # The reader went away: nothing more can be said to it, and Python's own last
        # flush of stdout must not fail again (docs.python.org, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()

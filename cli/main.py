"""`tongban`: the command line. Each area's subcommands live in their own module."""

from __future__ import annotations

import argparse
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
    args = build_parser().parse_args(argv)
    sys.exit(args.handler(args) or 0)


if __name__ == "__main__":
    main()

"""`tongban definitions validate|list`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from definitions.catalogue import load_catalogue
from definitions.source import DEFINITIONS_ROOT, DefinitionErrors


def _load(args: argparse.Namespace) -> Any:
    paths = [Path(p) for p in args.paths] or [DEFINITIONS_ROOT]
    return load_catalogue(
        paths,
        Path(args.departments) if args.departments else None,
        Path(args.licences) if args.licences else None,
    )


def validate(args: argparse.Namespace) -> int:
    try:
        catalogue = _load(args)
    except DefinitionErrors as exc:
        for error in exc.errors:
            print(error)
        print(f"{len(exc.errors)} error(s)")
        return 1
    print(
        f"ok: {len(catalogue.matters)} matter(s), {len(catalogue.departments)} department(s), "
        f"{len(catalogue.licence_types)} licence type(s)"
    )
    return 0


def list_matters(args: argparse.Namespace) -> int:
    try:
        catalogue = _load(args)
    except DefinitionErrors as exc:
        print(exc)
        return 1
    for m in sorted(catalogue.matters.values(), key=lambda m: m.code):
        kind = "即办件" if m.kind.value == "immediate" else "承诺件"
        lead = catalogue.department_name(m.lead_department)
        print(
            f"{m.code:<22} v{m.version}  {m.name}  {kind}  承诺{m.promised_limit_days}个工作日"
            f" / 法定{m.legal_limit_days}个工作日  牵头：{lead}"
        )
        for s in m.steps:
            needs = f"  needs {', '.join(s.needs)}" if s.needs else ""
            deemed = "  逾期视为同意" if s.on_overdue.value == "deem_approved" else ""
            print(
                f"    {s.code:<18} {s.name}（{catalogue.department_name(s.department)}，"
                f"{s.limit_days}个工作日）{needs}{deemed}"
            )
    return 0


def register(areas: Any) -> None:
    parser = areas.add_parser(
        "definitions", help="check and list matter definitions and licence types"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    for name, handler, help_text in (
        ("validate", validate, "check definitions; print every error as file:line; exit 1 on any"),
        ("list", list_matters, "print the catalogue"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("paths", nargs="*", metavar="PATH", help="definition roots or files")
        sub.add_argument("--departments", help="departments.yaml to check against")
        sub.add_argument(
            "--licences", help="licences.yaml to check against (default: beside the departments)"
        )
        sub.set_defaults(handler=handler)

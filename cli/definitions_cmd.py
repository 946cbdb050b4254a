"""`tongban definitions validate|list`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from definitions.catalogue import load_catalogue
from definitions.regions import REGIONS_FILE, load_regions
from definitions.source import DEFINITIONS_ROOT, DefinitionErrors
from domain.matter import IN_FORCE_SINCE


def _load(args: argparse.Namespace) -> Any:
    paths = [Path(p) for p in args.paths] or [DEFINITIONS_ROOT]
    return load_catalogue(
        paths,
        Path(args.departments) if args.departments else None,
        Path(args.licences) if args.licences else None,
    )


def _regions_file(args: argparse.Namespace) -> Path:
    roots = [Path(p) for p in args.paths if Path(p).is_dir()]
    if args.regions:
        return Path(args.regions)
    if roots and (roots[0] / "regions.yaml").exists():
        return roots[0] / "regions.yaml"
    return REGIONS_FILE


def validate(args: argparse.Namespace) -> int:
    errors = []
    try:
        catalogue = _load(args)
    except DefinitionErrors as exc:
        errors += exc.errors
    try:
        regions = load_regions(_regions_file(args))
    except DefinitionErrors as exc:
        errors += exc.errors
    if errors:
        for error in errors:
            print(error)
        print(f"{len(errors)} error(s)")
        return 1
    versions = sum(len(v) for v in catalogue.versions.values())
    print(
        f"ok: {len(catalogue.versions)} matter(s) in {versions} version(s), "
        f"{len(catalogue.departments)} department(s), "
        f"{len(catalogue.licence_types)} licence type(s), {len(regions)} region(s)"
    )
    return 0


def list_matters(args: argparse.Namespace) -> int:
    try:
        catalogue = _load(args)
    except DefinitionErrors as exc:
        print(exc)
        return 1
    today = datetime.now(UTC)
    for code in sorted(catalogue.versions):
        m = catalogue.in_force(code, today) or catalogue.versions[code][0]
        kind = "即办件" if m.kind.value == "immediate" else "承诺件"
        lead = catalogue.department_name(m.lead_department)
        print(
            f"{m.code:<22} v{m.version}  {m.name}  {kind}  承诺{m.promised_limit_days}个工作日"
            f" / 法定{m.legal_limit_days}个工作日  牵头：{lead}"
        )
        for v in catalogue.versions[code]:
            since = f"自{v.effective_from}起" if v.effective_from > IN_FORCE_SINCE else "自始"
            here = "  ← 现行" if v is m else ""
            print(f"    v{v.version} {v.status.label}（{since}）{here}")
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
        sub.add_argument("--regions", help="regions.yaml to check (default: the shipped one)")
        sub.set_defaults(handler=handler)

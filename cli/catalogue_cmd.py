"""`tongban catalogue generate [--count N]`: a demonstration catalogue at a city's scale.

Builds N entries from the base matters of definitions/demo/base_matters.yaml over the regions
of definitions/regions.yaml and replaces every demonstration entry of the database with them,
in one transaction: running it again gives the same catalogue. The hand-made matters (the
city's, with their definitions) are never replaced: they are brought in step with the
versions in force, as the API does at start-up.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

from definitions.catalogue import default_catalogue
from definitions.demo_catalogue import DEFAULT_SEED, default_base_matters, generate
from definitions.regions import default_regions
from domain.catalogue_entries import hand_made_entries
from domain.regions import RegionLevel
from settings import get_settings
from store.catalogue_entries import replace_demo
from store.migrate import upgrade

# The size of the Ma'anshan centre's catalogue across the city, its counties, townships and
# villages.
CITY_SCALE = 52_865


def run_generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    catalogue, regions = default_catalogue(), default_regions()
    hand_made = hand_made_entries(
        catalogue.in_force_all(datetime.now(UTC)).values(),
        regions.root,
        catalogue.department_name,
        counties=[r for r in regions.all() if r.level is RegionLevel.county],
        departments=catalogue.all_departments,
    )
    try:
        entries = generate(
            default_base_matters(),
            regions,
            count=args.count,
            seed=args.seed,
            skip_city_names={e.name for e in hand_made},
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    url = get_settings().db_url
    upgrade(url)
    written = replace_demo(url, entries, hand_made)
    print(
        f"{written} demonstration entries written, {len(hand_made)} hand-made matters kept "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def register(areas: Any) -> None:
    parser = areas.add_parser("catalogue", help="the catalogue of matters (事项目录)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    make = commands.add_parser(
        "generate", help="replace the demonstration entries by N generated ones (idempotent)"
    )
    make.add_argument("--count", type=int, default=CITY_SCALE, metavar="N", help="entries")
    make.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the same seed, the same N")
    make.set_defaults(handler=run_generate)

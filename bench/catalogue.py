"""The catalogue's benchmark: `.venv/bin/python -m bench.catalogue --count 52865`.

Builds the demonstration catalogue of N entries (as `tongban catalogue generate` does) into a
fresh SQLite database, then times searches through the HTTP API (`GET /api/matters`, the app
in process, no network) with what people type: the first characters of a name, pinyin,
initials, keywords; a third of them within a region, some at a level or of a department, a
few browsing a region without a query, most on the first page. `python -m bench` runs this
as one of its phases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from definitions.catalogue import default_catalogue
from definitions.demo_catalogue import PROXY_KEYWORD, default_base_matters, generate
from definitions.regions import default_regions
from domain.catalogue_entries import CatalogueEntry, hand_made_entries
from domain.regions import RegionLevel
from domain.search_text import pinyin_of
from settings import Settings
from store.catalogue_entries import replace_demo
from store.migrate import upgrade


def own_keywords(entry: CatalogueEntry) -> list[str]:
    """The matter's own keywords: what people type for it (not the tag of 代办 entries,
    which two entries in three carry)."""
    return [k for k in entry.keywords if k != PROXY_KEYWORD]


def queries(entries: list[CatalogueEntry], count: int, seed: int = 3) -> list[dict[str, Any]]:
    """What people send: a deterministic mix."""
    rng = random.Random(seed)
    regions = [r for r in default_regions().all() if r.level is not RegionLevel.village]
    departments = sorted({e.department for e in entries})
    out: list[dict[str, Any]] = []
    for _ in range(count):
        e = rng.choice(entries)
        full, initials = pinyin_of(e.name)
        roll = rng.random()
        params: dict[str, Any] = {}
        if roll < 0.3:
            params["q"] = e.name[: rng.randint(2, 4)]  # 食品经营…
        elif roll < 0.5:
            params["q"] = full[: rng.randint(4, 9)]  # shipinj…
        elif roll < 0.65:
            params["q"] = initials[: rng.randint(2, 4)]  # spjy
        elif roll < 0.9 and own_keywords(e):
            params["q"] = rng.choice(own_keywords(e))  # 开饭店
        else:
            params["region"] = rng.choice(regions).code  # browsing a region
        if "q" in params and rng.random() < 0.3:
            params["region"] = rng.choice(regions).code
        if rng.random() < 0.15:
            params["level"] = rng.choice(list(RegionLevel)).value
        if rng.random() < 0.15:
            params["department"] = rng.choice(departments)
        if rng.random() < 0.2:
            params["page"] = rng.randint(2, 3)
        out.append(params)
    return out


async def time_searches(url: str, data_dir: Path, mix: list[dict[str, Any]]) -> list[float]:
    settings = Settings(data_dir=data_dir, database_url=url, secret_key="bench")
    app = create_app(settings)
    seconds = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for params in mix[:50]:  # warm-up: statement caches, pages read
                (await client.get("/api/matters", params=params)).raise_for_status()
            for params in mix[50:]:
                started = time.perf_counter()
                response = await client.get("/api/matters", params=params)
                seconds.append(time.perf_counter() - started)
                response.raise_for_status()
    return seconds


def run(count: int, searches: int = 1000) -> dict[str, Any]:
    """Generate, write and search; the figures as `python -m bench` records them."""
    with tempfile.TemporaryDirectory(prefix="tongban-catalogue-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'catalogue.db'}"
        upgrade(url)
        print(f"catalogue: generating {count} entries")
        started = time.perf_counter()
        catalogue, regions = default_catalogue(), default_regions()
        hand_made = hand_made_entries(
            catalogue.in_force_all(datetime.now(UTC)).values(),
            regions.root,
            catalogue.department_name,
        )
        entries = generate(
            default_base_matters(),
            regions,
            count=count,
            skip_city_names={e.name for e in hand_made},
        )
        replace_demo(url, entries, hand_made)
        built = time.perf_counter() - started
        print(f"  written in {built:.1f} s; {searches} searches through the API")
        mix = queries(entries, searches + 50)
        latencies = sorted(asyncio.run(time_searches(url, Path(tmp), mix)))
    p50 = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
    print(f"  search: p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {latencies[-1] * 1000:.1f} ms")
    return {
        "catalogue_entries": count + len(hand_made),
        "catalogue_generate_seconds": round(built, 2),
        "catalogue_searches": len(latencies),
        "catalogue_search_p50_ms": round(p50, 2),
        "catalogue_search_p95_ms": round(p95, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.catalogue", description=__doc__)
    parser.add_argument("--count", type=int, default=52_865, help="demonstration entries")
    parser.add_argument("--searches", type=int, default=1000, help="searches to time")
    args = parser.parse_args()
    print(json.dumps(run(args.count, args.searches), indent=2))


if __name__ == "__main__":
    main()

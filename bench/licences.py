"""The licence library's benchmark: `.venv/bin/python -m bench.licences --count 1000000`.

Generates N valid licences (check digits right, several per holder, a realistic mix of
types) into a JSON Lines file, imports them with `store.licence_import` into a fresh SQLite
database, then times holder look-ups (`store.licences.held_by`) of random holders.
`python -m bench` runs this as its last phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from definitions.catalogue import default_catalogue
from domain.identifiers import credit_code_check_char, id_number_check_char
from store.db import create_engine, session_factory
from store.licence_import import import_licences
from store.licences import held_by
from store.migrate import upgrade

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂兰红玉华建国志文海燕鹏辉晨宇欣怡浩然子涵梓萱"
DISTRICTS = ["雨山区", "花山区", "博望区", "当涂县", "含山县", "和县"]
ROADS = ["湖南路", "解放路", "红旗路", "佳山路", "九华路", "采石路", "太白大道", "湖北路"]
TRADES = ["科技", "建设", "商贸", "物流", "餐饮", "新材料", "智能制造", "环保", "文化传媒"]
TODAY = date(2026, 11, 28)


def person_id(i: int) -> str:
    """A distinct, valid 居民身份证号码 for every i below twenty million."""
    born = date(1950, 1, 1) + timedelta(days=i % 20000)
    first = f"340503{born:%Y%m%d}{(i // 20000) % 1000:03d}"
    return first + id_number_check_char(first)


def organisation_id(j: int) -> str:
    first = f"91340500{j:09d}"
    return first + credit_code_check_char(first)


def _address(rng: random.Random) -> str:
    return f"安徽省马鞍山市{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{rng.randint(1, 999)}号"


def _issued(rng: random.Random, years: int | None) -> tuple[str, str | None]:
    issued = TODAY - timedelta(days=rng.randint(1, 20 * 365))
    if years is None:
        return issued.isoformat(), None
    try:
        until = issued.replace(year=issued.year + years)
    except ValueError:  # issued on 29 February
        until = issued.replace(year=issued.year + years, day=28)
    return issued.isoformat(), until.isoformat()


class Generator:
    """Holders one after another, each with its licences, numbered per type."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serials: dict[str, int] = {}
        self.persons = 0
        self.organisations = 0

    def _serial(self, licence_type: str) -> int:
        self.serials[licence_type] = self.serials.get(licence_type, 0) + 1
        return self.serials[licence_type]

    def _record(
        self,
        licence_type: str,
        number: str,
        holder: tuple[str, str],
        issuer: str,
        years: int | None,
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        issued_on, valid_until = _issued(self.rng, years)
        return {
            "type": licence_type,
            "number": number,
            "holder_id": holder[0],
            "holder_name": holder[1],
            "issuer": issuer,
            "issued_on": issued_on,
            "valid_until": valid_until,
            "fields": fields,
        }

    def person(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        holder = (person_id(self.persons), rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)))
        self.persons += 1
        yield self._record(
            "resident_id_card",
            holder[0],
            holder,
            "马鞍山市公安局",
            20,
            {
                "name": holder[1],
                "gender": rng.choice("男女"),
                "ethnicity": "汉",
                "id_number": holder[0],
                "address": _address(rng),
            },
        )
        for _ in range(rng.choices((0, 1, 2, 3), weights=(40, 40, 15, 5))[0]):
            k = self._serial("realty_certificate")
            yield self._record(
                "realty_certificate",
                f"皖（2026）马鞍山市不动产权第{k:07d}号",
                holder,
                "马鞍山市不动产登记中心",
                None,
                {
                    "certificate_no": f"皖（2026）马鞍山市不动产权第{k:07d}号",
                    "property_address": _address(rng)
                    + f"{rng.randint(1, 30)}栋{rng.randint(101, 2602)}室",
                    "unit_no": f"340504{k:06d}GB00001F{k % 10000:08d}",
                    "usage": "住宅",
                    "floor_area": round(rng.uniform(45, 180), 2),
                },
            )

    def organisation(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        code = organisation_id(self.organisations)
        name = f"马鞍山{rng.choice(TRADES)}{self.organisations}有限公司"
        holder = (code, name)
        self.organisations += 1
        yield self._record(
            "business_licence",
            code,
            holder,
            "马鞍山市市场监督管理局",
            None,
            {
                "company_name": name,
                "credit_code": code,
                "company_type": "有限责任公司",
                "legal_representative": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "registered_capital": rng.choice((10, 50, 100, 500, 1000)),
                "address": _address(rng),
                "business_scope": "技术开发、技术服务；货物进出口",
            },
        )
        if rng.random() < 0.8:
            k = self._serial("seal_record")
            yield self._record(
                "seal_record",
                f"3405002026{k:07d}",
                holder,
                "马鞍山市公安局",
                None,
                {"seal_record_no": f"3405002026{k:07d}", "company_name": name},
            )
        for licence_type, issuer, years, share in (
            ("planning_permit", "马鞍山市城市管理局", None, 0.1),
            ("road_excavation_permit", "马鞍山市城市管理局", 1, 0.1),
            ("water_connection_scheme", "马鞍山市供水公司", 1, 0.1),
            ("power_connection_scheme", "国网马鞍山供电公司", 1, 0.1),
            ("tax_clearance_certificate", "国家税务总局马鞍山市税务局", None, 0.05),
        ):
            if rng.random() < share:
                k = self._serial(licence_type)
                number = f"340500{licence_type[:4].upper()}{k:08d}"
                yield self._record(
                    licence_type,
                    number,
                    holder,
                    issuer,
                    years,
                    self._fields(licence_type, number, name),
                )

    def _fields(self, licence_type: str, number: str, name: str) -> dict[str, Any]:
        project = f"{name}厂房建设项目"
        by_type: dict[str, dict[str, Any]] = {
            "planning_permit": {"project_name": project, "project_address": _address(self.rng)},
            "road_excavation_permit": {
                "permit_no": number,
                "opening_location": "湖南路与九华路交叉口东侧",
            },
            "water_connection_scheme": {"scheme_no": number, "project_name": project},
            "power_connection_scheme": {
                "scheme_no": number,
                "project_name": project,
                "capacity_kva": 630,
            },
            "tax_clearance_certificate": {"clearance_no": number, "taxpayer_name": name},
        }
        return by_type[licence_type]

    def records(self, count: int) -> Iterator[dict[str, Any]]:
        made = 0
        while True:
            holder = self.person() if self.rng.random() < 0.6 else self.organisation()
            for record in holder:
                if made == count:
                    return
                made += 1
                yield record


def write_records(path: Path, count: int, seed: int = 1) -> list[str]:
    """Write `count` licences to `path`; return the holders' ids."""
    generator = Generator(seed)
    with path.open("w", encoding="utf-8") as out:
        for record in generator.records(count):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return [person_id(i) for i in range(generator.persons)] + [
        organisation_id(j) for j in range(generator.organisations)
    ]


async def lookups(url: str, holders: list[str], count: int, seed: int = 2) -> list[float]:
    rng = random.Random(seed)
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            for holder in holders[:10]:  # warm-up: statement caches, first pages read
                await held_by(session, holder_id=holder)
            seconds = []
            for _ in range(count):
                holder = rng.choice(holders)
                started = time.perf_counter()
                found = await held_by(session, holder_id=holder)
                seconds.append(time.perf_counter() - started)
                if not found:
                    raise RuntimeError(f"holder {holder} has no licence")
            return seconds
    finally:
        await engine.dispose()


def run(count: int, lookup_count: int = 1000) -> dict[str, Any]:
    """Generate, import and look up; the figures as `python -m bench` records them."""
    with tempfile.TemporaryDirectory(prefix="tongban-licences-") as tmp:
        source = Path(tmp) / "licences.jsonl"
        url = f"sqlite:///{Path(tmp) / 'licences.db'}"
        print(f"licences: generating {count} records")
        holders = write_records(source, count)
        upgrade(url)
        print(f"  importing {source.stat().st_size / 2**20:.0f} MiB")
        started = time.perf_counter()
        summary = import_licences(url, source, default_catalogue().licence_types, today=TODAY)
        seconds = time.perf_counter() - started
        if summary.loaded != count or summary.bad:
            raise RuntimeError(f"the import did not load every record: {summary}")
        print(f"  {summary}: {seconds:.1f} s ({count / seconds:,.0f} records/s)")
        latencies = asyncio.run(lookups(url, holders, lookup_count))
    p50 = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
    print(f"  {lookup_count} holder look-ups: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    return {
        "licence_import_seconds": round(seconds, 2),
        "licence_import_records": count,
        "licence_holders": len(holders),
        "licence_holder_lookup_p50_ms": round(p50, 3),
        "licence_holder_lookup_p95_ms": round(p95, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.licences", description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000, help="licences to import")
    parser.add_argument("--lookups", type=int, default=1000, help="holder look-ups to time")
    args = parser.parse_args()
    print(json.dumps(run(args.count, args.lookups), indent=2))


if __name__ == "__main__":
    main()

"""The catalogue at a city's scale: pinyin and initials, the demonstration catalogue and its
command, and the search (name, pinyin, initials, keywords; region, level, department;
paging; suspended and cancelled entries left out unless asked)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from definitions.catalogue import default_catalogue
from definitions.demo_catalogue import default_base_matters, entry_name, generate, slots
from definitions.regions import default_regions
from domain.catalogue_entries import CatalogueEntry
from domain.matter import Kind, MatterStatus
from domain.regions import RegionLevel
from domain.search_text import normalise, pinyin_of, search_text, search_words
from settings import get_settings
from store.catalogue_entries import entry_values
from store.models import CatalogueEntryRow
from tests.api_helpers import Json, invalid_fields
from tests.cli_helpers import tongban

# --- pinyin, names --------------------------------------------------------------------------


def test_full_pinyin_and_initials() -> None:
    assert pinyin_of("企业开办") == ("qiyekaiban", "qykb")
    assert pinyin_of("食品经营许可（新办）") == ("shipinjingyingxukexinban", "spjyxkxb")
    assert search_text("企业开办", ["开公司"]) == "企业开办|开公司|qiyekaiban|qykb"
    assert search_words("企业开办", ["开公司"]) == "企业开办|开公司"
    # What people type: full-width letters, capitals, spaces.
    assert normalise(" ＱＹ kb ") == "qykb"


def test_a_base_matter_and_its_variant_make_one_name() -> None:
    assert entry_name("企业登记", "设立登记") == "企业设立登记"
    assert entry_name("食品经营许可", "新办") == "食品经营许可（新办）"
    assert entry_name("医疗器械经营备案", "备案") == "医疗器械经营备案"
    assert entry_name("用水报装", "") == "用水报装"


def test_the_demonstration_catalogue_is_the_same_for_the_same_seed() -> None:
    base, regions = default_base_matters(), default_regions()
    first = generate(base, regions, count=500, seed=7)
    assert first == generate(base, regions, count=500, seed=7)
    assert first != generate(base, regions, count=500, seed=8)
    assert len({e.code for e in first}) == 500 and all(e.demo for e in first)
    assert set(Counter(e.level for e in first)) == set(RegionLevel)
    assert all(e.region_code in regions for e in first)
    # A base matter's limits are the same wherever it is listed.
    terms: dict[str, tuple[int, int]] = {}
    for e in first:
        assert terms.setdefault(e.base_code, (e.promised_limit_days, e.legal_limit_days)) == (
            e.promised_limit_days,
            e.legal_limit_days,
        )
    # The city-wide catalogue of Ma'anshan fits in what the lists allow.
    assert len(slots(base, regions, set())) > 52_865
    with pytest.raises(ValueError, match="between 0 and"):
        generate(base, regions, count=10_000_000)


# --- the command, on a database of its own --------------------------------------------------


@pytest.fixture
def own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "catalogue.db"
    monkeypatch.setenv("TONGBAN_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def entries_in(path: Path) -> list[tuple[str, int, str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT code, demo, region_code, level FROM catalogue_entries ORDER BY code"
        ).fetchall()


def test_generate_replaces_the_demonstration_entries_and_keeps_the_hand_made(
    own_database: Path,
) -> None:
    code, out, _ = tongban("catalogue", "generate", "--count", "500")
    assert code == 0 and "500 demonstration entries written" in out
    first = entries_in(own_database)
    hand_made = [e for e in first if not e[1]]
    city = [e for e in hand_made if e[3] == "city"]
    assert [e[0] for e in city] == sorted(default_catalogue().versions)
    assert {e[2] for e in city} == {"340500"}
    # 企业开办 is handled at county level too (its 实施清单): one entry per county as well.
    counties = [e for e in hand_made if e[3] == "county"]
    assert sorted(e[0] for e in counties) == [
        f"company_setup_{c}" for c in ("340503", "340504", "340506", "340521", "340522", "340523")
    ]
    assert sum(1 for e in first if e[1]) == 500
    # Again: the same catalogue, nothing added.
    assert tongban("catalogue", "generate", "--count", "500")[0] == 0
    assert entries_in(own_database) == first
    # Fewer: the demonstration entries are replaced, the hand-made ones stay.
    assert tongban("catalogue", "generate", "--count", "120")[0] == 0
    after = entries_in(own_database)
    assert sum(1 for e in after if e[1]) == 120 and [e for e in after if not e[1]] == hand_made
    code, _, err = tongban("catalogue", "generate", "--count", "999999999")
    assert code == 1 and "between 0 and" in err


# --- searching through the API --------------------------------------------------------------

WORD = "测试检索专用"  # a keyword no other entry has


def entry(code: str, name: str, region: str, level: RegionLevel, **changes: object) -> Json:
    values = {
        "code": f"test_{code}",
        "name": name,
        "base_code": "test_base",
        "region_code": region,
        "level": level,
        "department": "testing",
        "department_name": "测试局",
        "agency": "测试局",
        "keywords": (WORD,),
        "kind": Kind.promised,
        "promised_limit_days": 5,
        "legal_limit_days": 20,
        "online": True,
        "materials_count": 3,
        "materials_asked": 2,
        "status": MatterStatus.added,
        "version": 1,
        "effective_from": date(2020, 1, 1),
        "demo": True,
    } | changes
    return entry_values(CatalogueEntry.model_validate(values))


ENTRIES = [
    entry("county", "测试证照办理", "340522", RegionLevel.county),
    entry("town", "测试证照办理", "340522100", RegionLevel.township),
    entry("village", "测试证照办理", "340522100201", RegionLevel.village),
    entry("other", "测试证照办理", "340521", RegionLevel.county, department="other"),
    entry("inside", "补办测试证照办理", "340500", RegionLevel.city),
    entry("paused", "测试暂停事项", "340522", RegionLevel.county, status=MatterStatus.suspended),
    entry("gone", "测试取消事项", "340522", RegionLevel.county, status=MatterStatus.cancelled),
    *(
        entry(f"page{i:02d}", f"测试分页事项{i:02d}", "340523", RegionLevel.county)
        for i in range(23)
    ),
]


@pytest.fixture
async def test_entries(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    async with sessions() as session:
        await session.execute(insert(CatalogueEntryRow), ENTRIES)
        await session.commit()
    yield
    async with sessions() as session:
        await session.execute(
            delete(CatalogueEntryRow).where(CatalogueEntryRow.code.like("test\\_%", escape="\\"))
        )
        await session.commit()


Param = str | int | bool


async def find(api: httpx.AsyncClient, **params: Param) -> Json:
    response = await api.get("/api/matters", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def codes(api: httpx.AsyncClient, **params: Param) -> list[str]:
    return [m["code"] for m in (await find(api, page_size=100, **params))["items"]]


@pytest.mark.parametrize(
    "typed", ["企业开办", "开办", "qiyekaiban", "qiye", "qykb", "QYKB", "开公司"]
)
async def test_a_matter_is_found_by_name_pinyin_initials_or_keyword(
    api: httpx.AsyncClient, typed: str
) -> None:
    found = await find(api, q=typed)
    assert found["items"][0]["code"] == "company_setup", found
    assert found["items"][0]["guide_url"] == "/matters/company_setup"


async def test_the_very_name_comes_before_other_matches(
    api: httpx.AsyncClient, test_entries: None
) -> None:
    # The city's entry would come first in the catalogue's order, but its name only
    # contains what was typed.
    found = await codes(api, q="测试证照办理")
    assert found == ["test_other", "test_county", "test_town", "test_village", "test_inside"]


async def test_paging_gives_every_match_once_with_the_total(
    api: httpx.AsyncClient, test_entries: None
) -> None:
    pages = [await find(api, q="测试分页", page=n, page_size=10) for n in (1, 2, 3, 4)]
    assert [(p["total"], p["pages"], len(p["items"])) for p in pages] == [
        (23, 3, 10),
        (23, 3, 10),
        (23, 3, 3),
        (23, 3, 0),
    ]
    seen = [m["code"] for p in pages for m in p["items"]]
    assert seen == [f"test_page{i:02d}" for i in range(23)]


async def test_a_region_covers_what_lies_under_it(
    api: httpx.AsyncClient, test_entries: None
) -> None:
    county = await codes(api, q=WORD, region="340522")
    assert county == ["test_county", "test_town", "test_village"]
    assert await codes(api, q=WORD, region="340522100") == ["test_town", "test_village"]
    assert await codes(api, q=WORD, region="340522", level="county") == ["test_county"]
    assert await codes(api, q=WORD, level="village") == ["test_village"]
    assert await codes(api, q=WORD, department="other") == ["test_other"]
    everywhere = await codes(api, q=WORD, region="340500")
    assert {"test_county", "test_other", "test_village", "test_inside"} <= set(everywhere)
    [village] = (await find(api, q=WORD, level="village"))["items"]
    assert village["region_name"] == "马鞍山市含山县环峰镇褒禅村"
    assert (village["level_label"], village["demo"], village["guide_url"]) == ("村级", True, None)
    assert invalid_fields(await api.get("/api/matters", params={"region": "999999"})) == {
        "region": "没有行政区划 999999"
    }


async def test_suspended_and_cancelled_entries_are_left_out_unless_asked(
    api: httpx.AsyncClient, test_entries: None
) -> None:
    assert await codes(api, q="测试暂停") == []
    assert await codes(api, q="测试取消") == []
    shown = (await find(api, q="测试暂停", include_inactive=True))["items"]
    assert [(m["code"], m["status"], m["status_label"]) for m in shown] == [
        ("test_paused", "suspended", "暂停")
    ]
    assert await codes(api, q="测试取消", include_inactive=True) == ["test_gone"]


async def test_the_catalogue_page_searches_and_pages(
    api: httpx.AsyncClient, test_entries: None
) -> None:
    page = await api.get("/", params={"q": "测试分页", "region": "340523"})
    assert page.status_code == 200
    assert "共 23 项，第 1 / 2 页" in page.text
    assert "测试分页事项00" in page.text and "测试分页事项20" not in page.text
    assert "/?q=%E6%B5%8B%E8%AF%95%E5%88%86%E9%A1%B5&amp;region=340523&amp;page=2" in page.text
    second = await api.get("/", params={"q": "测试分页", "region": "340523", "page": 2})
    assert "测试分页事项20" in second.text and "演示数据" in second.text
    assert "测试暂停事项" not in (await api.get("/", params={"q": "测试暂停"})).text
    shown = await api.get("/", params={"q": "测试暂停", "inactive": "1"})
    assert "测试暂停事项" in shown.text and "已暂停" in shown.text
    # The hand-made matters lead the plain catalogue, with their forms.
    home = await api.get("/")
    assert home.text.index("企业开办") < home.text.index("不动产转移登记")
    assert 'href="/apply/company_setup"' in home.text

"""The pages in a real browser (Debian's Chromium driven by Playwright), as people use them.

Each main page is saved as a screenshot under tests/artifacts/screens/. Every page works
under the Content-Security-Policy: a script or style the policy refused fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    expect,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.conftest import SCREENS
from tests.engine import start, start_on_a_plain_monday
from tests.factories import application, credit_code, id_number
from tests.test_paging import small_pages, tied  # noqa: F401 (fixtures)
from tests.timeline import at, skip_to

pytestmark = pytest.mark.timeout(180)

MOBILE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


# What Chromium reported refusing under our Content-Security-Policy, during one test.
REFUSED: list[str] = []


@pytest.fixture(autouse=True)
def nothing_refused_by_the_policy() -> Iterator[None]:
    REFUSED.clear()
    yield
    assert REFUSED == []


async def context(browser: Browser, base: str, **options: Any) -> BrowserContext:
    ctx = await browser.new_context(base_url=base, locale="zh-CN", **options)
    ctx.set_default_timeout(20_000)

    # The page reports every refusal it sees (injected by the browser's driver, which the
    # policy does not restrict), and Chromium logs its own.
    await ctx.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy refused ' + e.violatedDirective + ': ' + e.blockedURI))"
    )

    def on_console(message: ConsoleMessage) -> None:
        url = message.page.url if message.page else ""
        # Only our pages: the identity provider's pages have a policy of their own.
        if "Content Security Policy" in message.text and url.startswith(base):
            REFUSED.append(f"{url}: {message.text}")

    ctx.on("console", on_console)
    return ctx


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


async def sign_in(browser: Browser, base: str, username: str) -> Page:
    page = await (await context(browser, base, **DESKTOP)).new_page()
    await page.goto("/login")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    await page.click("button[type=submit]")
    await expect(page.locator("header.top")).to_contain_text("退出")
    return page


async def fits_the_screen(page: Page) -> None:
    """Nothing wider than a 375 px phone: no sideways scrolling."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width}px wide"


async def open_task(page: Page, number: str) -> None:
    await page.goto(f"/workbench?application_no={number}")
    await page.click(f"a:has-text('{number}')")
    await expect(page.locator("h1")).to_contain_text(number)


async def test_one_application_through_every_role(
    browser: Browser, live: str, tmp_path: Path
) -> None:
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% test material\n")

    # The applicant, on a phone: catalogue, guide, form (with a mistake first), receipt.
    phone = await (await context(browser, live, **MOBILE)).new_page()
    await phone.goto("/")
    await expect(phone.locator("h1")).to_contain_text("一网通办")
    await fits_the_screen(phone)
    await shot(phone, "01_catalogue_mobile")
    await phone.click("a:has-text('企业开办') >> nth=0")
    await expect(phone.locator("h1")).to_contain_text("办事指南")
    await expect(phone.locator("table").first).to_contain_text("可用电子证照代替")
    await fits_the_screen(phone)
    await shot(phone, "02_guide_mobile")
    await phone.click("text=在线申请")
    await phone.fill("#applicant_name", "张三")
    await phone.fill("#identifier", id_number())
    await phone.fill("#phone", "13912345678")
    await phone.fill("#form_company_name", "马鞍山通办科技有限公司")
    await phone.select_option("#form_company_type", "有限责任公司")
    await phone.fill("#form_registered_capital", "100")
    await phone.fill("#form_address", "马鞍山市雨山区示例路1号")
    await phone.fill("#form_legal_representative", "张三")
    await phone.fill("#form_legal_representative_id", "34050319900307123")  # one digit short
    await phone.fill("#form_business_scope", "软件开发")
    for code in ("application_form", "articles", "premises_proof"):
        await phone.set_input_files(f"input[name=file_{code}]", str(pdf))
    await phone.fill("input[name=licence_investor_id]", "ID-340503")
    await phone.click("button:has-text('提交申请')")
    await expect(phone.locator("#form_legal_representative_id-error")).to_contain_text("18位")
    await expect(phone.locator(".flash.error")).to_contain_text("1 处需要修改")
    await fits_the_screen(phone)
    await shot(phone, "03_form_errors_mobile")
    await phone.fill("#form_legal_representative_id", id_number())
    for code in ("application_form", "articles", "premises_proof"):  # files are not kept
        await phone.set_input_files(f"input[name=file_{code}]", str(pdf))
    await phone.click("button:has-text('提交申请')")
    await phone.wait_for_url(re.compile(r".*/receipt/\d+$"))
    await expect(phone.locator(".receipt h1")).to_have_text("收件回执")
    await expect(phone.locator(".qr svg")).to_be_visible()
    await shot(phone, "04_receipt_mobile")
    number = phone.url.rsplit("/", 1)[1]
    code = (await phone.locator("dd.code").nth(1).inner_text()).strip()
    assert len(code) >= 8

    # The window accepts it (受理).
    clerk = await sign_in(browser, live, "clerk")
    await clerk.goto("/window")
    await shot(clerk, "05_window_desk")
    await clerk.click(f"tr:has-text('{number}') >> text=审查受理")
    await expect(clerk.locator("h1")).to_contain_text(number)
    await shot(clerk, "06_window_review")
    await clerk.click("button:has-text('受理') >> nth=0")
    await expect(clerk.locator(".flash")).to_contain_text("已受理")

    # Departments: the registry approves, the police ask for a correction.
    amr = await sign_in(browser, live, "amr")
    await amr.goto(f"/workbench?application_no={number}")
    await expect(amr.locator("tbody")).to_contain_text(number)
    await shot(amr, "07_workbench")
    await open_task(amr, number)
    await amr.click("button:has-text('签收')")
    await expect(amr.locator(".flash")).to_contain_text("已签收")
    await amr.fill("#result_credit_code", credit_code())
    await amr.fill("#result_licence_no", "340500000123456")
    await shot(amr, "08_task")
    await amr.click("button:has-text('通过并办结本环节')")
    await expect(amr.locator(".flash")).to_contain_text("通过")

    psb = await sign_in(browser, live, "psb")
    await open_task(psb, number)
    await psb.fill("#items", "印章样式确认书")
    await psb.fill("#supplement_reason", "未确认印章样式")
    await psb.click("button:has-text('发送补正告知')")
    await expect(psb.locator(".flash")).to_contain_text("补正告知已发送")

    # The applicant answers the correction notice on the phone.
    await phone.goto(f"/status/{number}")
    await expect(phone.locator("h2", has_text="补正告知")).to_be_visible()
    await phone.set_input_files("#file_0", str(pdf))
    await fits_the_screen(phone)
    await shot(phone, "09_status_correction_mobile")
    await phone.click("button:has-text('提交补正材料')")
    await expect(phone.locator(".flash")).to_contain_text("补正材料已提交")

    # The police and the tax office approve: the application is granted.
    await open_task(psb, number)
    await psb.fill("#result_seal_record_no", "马公章备2026-001")
    await psb.click("button:has-text('通过并办结本环节')")
    await expect(psb.locator(".flash")).to_contain_text("通过")
    tax = await sign_in(browser, live, "tax")
    await open_task(tax, number)
    await tax.select_option("#result_invoice_type", index=1)
    await tax.click("button:has-text('通过并办结本环节')")
    await expect(tax.locator(".flash")).to_contain_text("通过")

    # The supervisor sees it finished on time, with its whole timeline.
    boss = await sign_in(browser, live, "supervisor")
    await boss.goto("/supervision")
    await expect(boss.locator("svg[role=img]")).to_be_visible()
    await shot(boss, "10_supervision")
    await boss.goto(f"/supervision/applications/{number}")
    await expect(boss.locator("dl.facts")).to_contain_text("已办结（准予）")
    await expect(boss.locator("dl.facts")).to_contain_text("绿牌")
    await expect(boss.locator(".timeline")).to_contain_text("一次性告知补正")
    await expect(boss.locator("a:has-text('Temporal Web UI')")).to_have_attribute(
        "href", re.compile(rf".*/workflows/{number}$")
    )
    await shot(boss, "11_supervision_application")

    # The result is ready: its electronic licences are issued, the window hands it over.
    await phone.goto(f"/status/{number}")
    await expect(phone.locator("dl.facts")).to_contain_text("已办结（准予）")
    await expect(phone.locator("body")).to_contain_text("已生成电子证照：营业执照")
    await expect(phone.locator("body")).to_contain_text("前送达")
    await clerk.goto("/window")
    await clerk.click(f"form:has-text('{number}') >> button:has-text('登记出件')")
    await expect(clerk.locator(".flash")).to_contain_text("已窗口出件")

    # The applicant sees the result and rates: a bad rating must say why.
    await phone.goto(f"/status/{number}")
    await expect(phone.locator(".progress")).to_contain_text("马公章备2026-001")
    await phone.check("input[value=dissatisfied]")
    await phone.click("button:has-text('提交评价')")
    await expect(phone.locator(".flash.error")).to_contain_text("请说明原因")
    await phone.check("input[value=very_satisfied]")
    await phone.click("button:has-text('提交评价')")
    await expect(phone.locator(".flash")).to_contain_text("感谢您的评价")
    await expect(phone.locator("body")).to_contain_text("您的评价：非常满意")
    await fits_the_screen(phone)
    await shot(phone, "12_status_granted_mobile")


async def test_yellow_and_red_cards_reached_by_skipping_time(
    browser: Browser, live: str, env: WorkflowEnvironment, worker: Worker
) -> None:
    _, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    number = app.application_no
    psb = await sign_in(browser, live, "psb")

    # Wednesday 13:00: the two-day seal step is yellow (80% of its time used).
    await skip_to(env, at(monday + timedelta(days=2), 13))
    await psb.goto(f"/workbench?application_no={number}")
    row = psb.locator(f"tr:has-text('{number}')")
    await expect(row.locator(".tag")).to_have_text(re.compile("黄牌"))
    await shot(psb, "13_workbench_yellow")

    # Thursday: red, and the supervisor counts it among the overdue.
    await skip_to(env, at(monday + timedelta(days=3), 10))
    await psb.goto(f"/workbench?application_no={number}")
    await expect(row.locator(".tag")).to_have_text(re.compile("红牌"))
    await expect(row).to_contain_text("已超")
    boss = await sign_in(browser, live, "supervisor")
    await boss.goto("/supervision")
    overdue = boss.locator("table").first
    await expect(overdue).to_contain_text(number)
    await shot(boss, "14_supervision_red")


async def test_each_role_sees_only_its_own_pages(
    browser: Browser, live: str, env: WorkflowEnvironment, worker: Worker
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    await start(env, worker.task_queue, app)
    psb = await sign_in(browser, live, "psb")
    await psb.goto(f"/workbench?application_no={app.application_no}")
    await psb.click(f"a:has-text('{app.application_no}')")
    seal_task = psb.url

    # Another department cannot open the police's task, nor act on it.
    amr = await sign_in(browser, live, "amr")
    response = await amr.goto(seal_task)
    assert response is not None and response.status == 403
    await expect(amr.locator("h1")).to_have_text("无权访问")
    await shot(amr, "15_forbidden_other_department")
    await amr.goto(f"/workbench?application_no={app.application_no}")
    mine = amr.locator("tbody tr", has_text=app.application_no)
    await expect(mine).to_contain_text("企业设立登记")  # its own step of this application
    # Not the police's step of it (a step re-routed to it by another test may be listed).
    await expect(mine).not_to_contain_text("公章刻制备案")

    # Staff see no window, a clerk no dashboard; nobody signed out sees any of them.
    assert (await amr.goto("/window")) is not None
    await expect(amr.locator("h1")).to_have_text("无权访问")
    clerk = await sign_in(browser, live, "clerk")
    await clerk.goto("/supervision")
    await expect(clerk.locator("h1")).to_have_text("无权访问")
    await expect(clerk.locator("header.top nav")).not_to_contain_text("电子监察")
    anonymous = await (await context(browser, live, **DESKTOP)).new_page()
    for path in ("/workbench", "/window", "/supervision", seal_task.removeprefix(live)):
        await anonymous.goto(path)
        await expect(anonymous.locator("h1")).to_have_text("工作人员登录")


async def test_a_walk_in_receipt_leaves_no_code_behind_at_the_window(
    browser: Browser, live: str
) -> None:
    clerk = await sign_in(browser, live, "clerk")
    await clerk.goto("/window?q=清税")
    await expect(clerk.locator(".matter-list")).not_to_contain_text("企业开办")
    await clerk.click(".matter-list a:has-text('受理')")
    await clerk.fill("#applicant_name", "马鞍山示例有限公司")
    taxpayer = credit_code()
    await clerk.fill("#identifier", taxpayer)
    await clerk.fill("#phone", "0555-2345678")
    await clerk.fill("#form_taxpayer_name", "马鞍山示例有限公司")
    await clerk.fill("#form_taxpayer_credit_code", taxpayer)
    await clerk.select_option("#form_reason", "解散")
    for code in ("deregistration_form", "agent_id", "business_licence"):
        await clerk.check(f"input[name=paper_{code}]")
    await clerk.click("button:has-text('受理并打印受理通知书')")
    await clerk.wait_for_url(re.compile(r".*/receipt/\d+$"))
    await expect(clerk.locator(".receipt h1")).to_have_text("受理通知书")
    number = clerk.url.rsplit("/", 1)[1]
    code = (await clerk.locator("dd.code").nth(1).inner_text()).strip()
    link = await clerk.locator("a:has-text('在本机查看办理进度')").get_attribute("href")
    assert link is not None and link.endswith(f"/status/{number}#code={code}")
    await shot(clerk, "16_window_receipt")
    # The print button (a static script under the policy) opens the browser's printing.
    await clerk.evaluate("window.print = () => { window.printed = true; }")
    await clerk.click("button:has-text('打印')")
    assert await clerk.evaluate("window.printed") is True

    # Printed once: the code stays with the applicant, not in the clerk's browser.
    await clerk.goto(f"/receipt/{number}")
    await expect(clerk.locator("h1")).to_have_text("办件查询")
    await clerk.goto(f"/status/{number}")
    await expect(clerk.locator("h1")).to_have_text("办件查询")

    # The applicant scans the QR code on a phone: straight to the status, code never sent.
    phone = await (await context(browser, live, **MOBILE)).new_page()
    await phone.goto(link.removeprefix(live))
    await expect(phone.locator("h1")).to_have_text("清税注销")
    await expect(phone.locator("dl.facts")).to_contain_text("已受理")
    # On a shared computer, 退出查询 makes the browser forget it.
    await phone.click("button:has-text('退出查询')")
    await phone.goto(f"/status/{number}")
    await expect(phone.locator("h1")).to_have_text("办件查询")


async def test_a_department_asks_for_more_time_and_the_supervisor_approves_it(
    browser: Browser, live: str, env: WorkflowEnvironment, worker: Worker
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    await start(env, worker.task_queue, app)
    psb = await sign_in(browser, live, "psb")
    await open_task(psb, app.application_no)
    await psb.fill("#extension_days", "2")
    await psb.fill("#extension_reason", "需实地核查印章样式")
    await psb.click("button:has-text('提交延期申请')")
    await expect(psb.locator(".flash")).to_contain_text("延期申请已提交")
    await expect(psb.locator("body")).to_contain_text("已申请延期 2 个工作日")

    boss = await sign_in(browser, live, "supervisor")
    await boss.goto("/supervision")
    row = boss.locator(f"tr:has-text('{app.application_no}')", has_text="需实地核查印章样式")
    await shot(boss, "17_supervision_extension_request")
    await row.locator("button:has-text('批准')").click()
    await expect(boss.locator(".flash")).to_contain_text("已批准延期 2 个工作日")
    await boss.goto(f"/supervision/applications/{app.application_no}")
    await expect(boss.locator(".timeline")).to_contain_text("批准延期")


async def test_an_enterprise_signs_in_finds_its_licences_and_applies_prefilled(
    browser: Browser, live: str, tmp_path: Path
) -> None:
    """统一身份认证 → 我的证照 → 秒填 → status: the demo enterprise deregisters its taxes
    without bringing its business licence or its agent's ID card."""
    pdf = tmp_path / "注销申请表.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% test material\n")
    ctx = await context(browser, live, **DESKTOP)
    # The provider's own page asks a CDN for its stylesheet: nothing leaves this machine.
    await ctx.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), lambda r: r.abort())
    page = await ctx.new_page()
    await page.goto("/")
    await page.click("text=登录（统一身份认证）")
    await page.click("button[value='tongban-tech']")  # the provider's sign-in form
    await page.wait_for_url(re.compile(r".*/my$"))
    await expect(page.locator("h1")).to_contain_text("马鞍山通办示范科技有限公司")

    await page.click("header >> text=我的证照")
    card = page.locator(".licence", has_text="营业执照")
    await expect(card).to_contain_text("340500-DEMO-BL-0001")
    await expect(card.locator(".qr svg")).to_be_visible()
    await shot(page, "20_my_licences")

    await page.goto("/apply/tax_deregistration")
    await expect(page.locator("#form_taxpayer_name")).to_have_value("马鞍山通办示范科技有限公司")
    await expect(page.locator("#form_taxpayer_credit_code")).to_have_value("91340500MA2TB0001W")
    await expect(page.locator("#form_agent_id_number")).to_have_value("34050319850612001X")
    await expect(page.locator("#identifier")).to_have_value("91340500MA2TB0001W")
    await expect(page.locator("main form")).to_contain_text(
        "已从电子证照库调取：340500-DEMO-BL-0001"
    )
    await shot(page, "21_apply_prefilled")
    await page.select_option("#form_reason", "解散")
    await page.set_input_files("input[name=file_deregistration_form]", str(pdf))
    await page.click("button:has-text('提交申请')")
    await page.wait_for_url(re.compile(r".*/receipt/\d+$"))
    number = page.url.rsplit("/", 1)[1]

    # 我的办件: no query code needed.
    await page.goto("/my")
    await page.click(f"tr:has-text('{number}') >> text=查看进度")
    await expect(page.locator("h1")).to_have_text("清税注销")
    await expect(page.locator("dl.facts")).to_contain_text(number)
    await shot(page, "22_status_signed_in")


async def test_a_rejection_asks_for_confirmation_first(
    browser: Browser, live: str, env: WorkflowEnvironment, worker: Worker
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    await start(env, worker.task_queue, app)
    amr = await sign_in(browser, live, "amr")
    await open_task(amr, app.application_no)
    await amr.fill("#reject_reason", "经营范围涉及前置许可，未取得")
    asked: list[str] = []

    async def answer(dialog: Dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    amr.once("dialog", lambda d: answer(d, accept=False))
    await amr.click("button:has-text('不予通过')")
    assert asked == ["不予通过将终止整个申请，确定吗？"]
    await expect(amr.locator(".flash")).to_have_count(0)  # nothing was sent

    amr.once("dialog", lambda d: answer(d, accept=True))
    await amr.click("button:has-text('不予通过')")
    await expect(amr.locator(".flash")).to_contain_text("已作出不予通过决定")
    assert len(asked) == 2


async def test_the_api_reference_works_under_its_policy(browser: Browser, live: str) -> None:
    page = await (await context(browser, live, **DESKTOP)).new_page()
    response = await page.goto("/docs")
    assert response is not None
    assert "img-src 'self' data:" in response.headers["content-security-policy"]
    await expect(page.locator(".information-container .title")).to_contain_text("Tongban")
    await expect(page.locator(".opblock").first).to_be_visible()
    await shot(page, "23_api_reference")


async def test_the_workbench_turns_its_pages_with_the_filter_kept(
    browser: Browser,
    live: str,
    tied: list[str],  # noqa: F811 (the fixture)
    small_pages: int,  # noqa: F811 (the fixture)
) -> None:
    gas = await sign_in(browser, live, "gas")
    await gas.goto("/workbench")
    await gas.select_option("select[name=sla]", "serious")
    await gas.click("button:has-text('筛选')")
    pager = gas.locator("nav.pager")
    await expect(pager).to_contain_text(re.compile(r"第 1 / \d+ 页"))
    first = await gas.locator("tbody tr").all_inner_texts()
    assert len(first) == small_pages
    await pager.locator("a[rel=next]").click()
    await expect(gas).to_have_url(re.compile(r"sla=serious.*page=2"))
    await expect(pager).to_contain_text(re.compile(r"第 2 / \d+ 页"))
    await expect(gas.locator("select[name=sla]")).to_have_value("serious")
    second = await gas.locator("tbody tr").all_inner_texts()
    assert not set(first) & set(second)
    await shot(gas, "16_workbench_page_2")
    await pager.locator("a[rel=prev]").click()
    await expect(pager).to_contain_text(re.compile(r"第 1 / \d+ 页"))
    assert await gas.locator("tbody tr").all_inner_texts() == first


async def test_a_returned_step_is_rerouted_ordered_and_answered(
    browser: Browser, live: str, env: WorkflowEnvironment, worker: Worker
) -> None:
    """退单 → 改派 → 督办 → 督办答复, each from its page's buttons."""
    _, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    number = app.application_no
    # Wednesday 13:00: the two-day seal step is yellow (80% of its time used).
    await skip_to(env, at(monday + timedelta(days=2), 13))

    psb = await sign_in(browser, live, "psb")
    await open_task(psb, number)
    seal_task = psb.url.removeprefix(live)
    await psb.fill("#return_reason", "印章备案已划归市场监管部门")
    psb.once("dialog", lambda d: d.accept())
    await psb.click("button:has-text('退单')")
    await expect(psb.locator(".flash")).to_contain_text("已退单")

    boss = await sign_in(browser, live, "supervisor")
    await boss.goto(f"/supervision/applications/{number}")
    seal = boss.locator("#procedures-seal")
    await expect(seal).to_contain_text("印章备案已划归市场监管部门")
    await seal.locator("select[name=department]").select_option("amr")
    await seal.locator("button:has-text('改派')").click()
    await expect(boss.locator(".flash")).to_contain_text("已改派市场监管局办理")
    await seal.locator("textarea[name=demand]").fill("请说明办理进度，今日内办结")
    await seal.locator("button:has-text('下达督办单')").click()
    await expect(boss.locator(".flash")).to_contain_text("已下达督办单")
    await expect(seal).to_contain_text("待市场监管局答复")
    await shot(boss, "23_supervision_order")

    amr = await sign_in(browser, live, "amr")
    await amr.goto(seal_task)
    await expect(amr.locator("#procedures")).to_contain_text("请说明办理进度，今日内办结")
    await amr.fill("#order_answer_1", "已接收改派，今日办结")
    await amr.click("button:has-text('提交督办答复')")
    await expect(amr.locator(".flash")).to_contain_text("督办答复已提交")
    await expect(amr.locator("#procedures")).to_contain_text("已答复")
    await shot(amr, "24_task_order_answered")
    await boss.reload()
    await expect(seal).to_contain_text("答复：已接收改派，今日办结")

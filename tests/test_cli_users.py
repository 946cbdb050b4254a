"""`tongban users`: accounts for a real deployment, managed from the command line."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.cli_helpers import tongban


def test_add_list_passwd_disable(configured: None, demo_accounts: None) -> None:
    name = f"zhang{uuid.uuid4().hex[:6]}"
    code, out, _ = tongban(
        "users",
        "add",
        name,
        "--role",
        "staff",
        "--department",
        "amr",
        "--name",
        "市场监管局 张三",
        "--password-stdin",
        stdin="long-enough-1\n",
    )
    assert code == 0 and f"added {name}" in out
    code, out, _ = tongban("users", "list")
    assert name in out and "amr" in out
    code, _, err = tongban(
        "users", "add", name, "--role", "clerk", "--password-stdin", stdin="x" * 9
    )
    assert code == 1 and "exists already" in err
    code, _, err = tongban("users", "passwd", name, "--password-stdin", stdin="short\n")
    assert code == 1
    assert err == "error: 密码不符合要求：至少12个字符（现为5个）；须包含数字\n"
    code, out, _ = tongban(
        "users", "passwd", name, "--password-stdin", stdin="another-long-one-2\n"
    )
    assert code == 0 and "password changed" in out
    code, out, _ = tongban("users", "disable", name)
    assert code == 0 and "disabled" in out
    code, _, err = tongban(
        "users", "add", "nobody", "--role", "staff", "--password-stdin", stdin="long-enough-1\n"
    )
    assert code == 1 and "--department" in err


def test_add_regional_accounts(configured: None, demo_accounts: None) -> None:
    """A branch's staff work in its county; a county's supervisor is given his region."""
    staff, boss = f"wang{uuid.uuid4().hex[:6]}", f"zhao{uuid.uuid4().hex[:6]}"
    password = "long-enough-1\n"
    args = ("--role", "staff", "--department", "amr_340521", "--password-stdin")
    assert tongban("users", "add", staff, *args, stdin=password)[0] == 0
    args = ("--role", "supervisor", "--region", "340522", "--password-stdin")
    assert tongban("users", "add", boss, *args, stdin=password)[0] == 0
    code, out, _ = tongban("users", "list")
    rows = {line.split()[0]: line.split() for line in out.splitlines()}
    assert rows[staff][2:4] == ["amr_340521", "340521"]
    assert rows[boss][2:4] == ["-", "340522"]
    args = ("--role", "clerk", "--region", "999999", "--password-stdin")
    code, _, err = tongban("users", "add", f"x{boss}", *args, stdin=password)
    assert code == 1 and "no region 999999" in err


async def test_a_new_account_signs_in_and_a_disabled_one_cannot(
    api: httpx.AsyncClient, configured: None
) -> None:
    name = f"li{uuid.uuid4().hex[:6]}"
    # The command runs its own event loop: off this test's loop, in a thread.
    added = await asyncio.to_thread(
        tongban,
        "users",
        "add",
        name,
        "--role",
        "supervisor",
        "--password-stdin",
        stdin="s3cret-passphrase\n",
    )
    assert added[0] == 0
    ok = await api.post("/api/auth/token", data={"username": name, "password": "s3cret-passphrase"})
    assert ok.status_code == 200
    token = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert (await api.get("/api/supervision/overview", headers=token)).status_code == 200
    assert (await asyncio.to_thread(tongban, "users", "disable", name))[0] == 0
    assert (await api.get("/api/supervision/overview", headers=token)).status_code == 401
    again = await api.post(
        "/api/auth/token", data={"username": name, "password": "s3cret-passphrase"}
    )
    assert again.status_code == 401
    # Enabled again, the token it held before stays ended: he signs in anew.
    assert (await asyncio.to_thread(tongban, "users", "enable", name))[0] == 0
    assert (await api.get("/api/supervision/overview", headers=token)).status_code == 401


async def test_a_new_password_ends_the_sessions_held(
    api: httpx.AsyncClient, configured: None
) -> None:
    name = f"qian{uuid.uuid4().hex[:6]}"
    args = ("--role", "supervisor", "--password-stdin")
    added = await asyncio.to_thread(tongban, "users", "add", name, *args, stdin="first-pass-1\n")
    assert added[0] == 0
    ok = await api.post("/api/auth/token", data={"username": name, "password": "first-pass-1"})
    token = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert (await api.get("/api/auth/me", headers=token)).status_code == 200
    code, out, _ = await asyncio.to_thread(
        tongban, "users", "passwd", name, "--password-stdin", stdin="second-pass-2\n"
    )
    assert code == 0 and "1 session(s) ended" in out
    assert (await api.get("/api/auth/me", headers=token)).status_code == 401


def test_signoff_levels(configured: None, demo_accounts: None) -> None:
    """分级签署: a member of staff's level is set when added and changed later; only staff
    hold one."""
    name = f"li{uuid.uuid4().hex[:6]}"
    code, out, _ = tongban(
        "users", "add", name, "--role", "staff", "--department", "urban",
        "--signoff-role", "reviewer", "--password-stdin", stdin="long-enough-1\n",
    )  # fmt: skip
    assert code == 0, out
    code, out, _ = tongban("users", "list")
    [line] = [x for x in out.splitlines() if x.startswith(name)]
    assert "reviewer" in line
    code, out, _ = tongban("users", "signoff", name, "approver")
    assert code == 0 and "批准" in out
    code, out, _ = tongban("users", "signoff", name, "none")
    assert code == 0 and "none" in out
    code, _, err = tongban("users", "signoff", "supervisor", "reviewer")
    assert code == 1 and "only department staff" in err


def test_a_systems_account_is_the_clients_command_s_and_disabling_it_ends_its_tokens(
    configured: None, demo_accounts: None
) -> None:
    """`users enable` would revive a client disabled by `clients disable` (and its tokens
    still in their hours); a client is managed as a client only."""
    code, out, _ = tongban("clients", "add", "--role", "supervisor", "--name", "省平台")
    assert code == 0, out
    client_id = out.split("client_id:")[1].split()[0]
    code, out, _ = tongban("clients", "disable", client_id)
    assert code == 0 and "token(s) ended" in out
    code, _, err = tongban("users", "enable", client_id)
    assert code == 1 and f"no user {client_id}" in err

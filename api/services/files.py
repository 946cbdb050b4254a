"""Files applicants upload as materials: kept under the data directory, named by content.

Only the reference (`upload:<digest>.<ext>`) enters the application; staff open the file
through the pages. Naming by content makes a retried submission with the same files the same
submission (its Idempotency-Key matches), and stores each file once. Types and size are
checked here, so a bad file is refused before anything else.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from api.errors import invalid
from api.services.accounts import StaffUser
from api.services.region_scope import visible
from domain.actors import Role
from store.models import ApplicationRow, CorrectionFileRow, MaterialRow, StepRow

MAX_BYTES = 10 * 1024 * 1024
ALLOWED = {"pdf": b"%PDF", "png": b"\x89PNG", "jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff"}


def upload_dir(data_dir: Path) -> Path:
    path = data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def save_upload(data_dir: Path, field: str, upload: UploadFile) -> str:
    """Store one uploaded file; 422 naming `field` if it is not a PDF/PNG/JPEG of ≤ 10 MB."""
    name = upload.filename or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content = await upload.read(MAX_BYTES + 1)
    if ext not in ALLOWED or not content.startswith(ALLOWED[ext]):
        raise invalid({field: "只接受 PDF、PNG、JPG 文件"})
    if len(content) > MAX_BYTES:
        raise invalid({field: "文件不能超过 10 MB"})
    # Hashing and writing up to 10 MB would stall every other request: off the event loop.
    stored = await to_thread.run_sync(_store, data_dir, content, "jpg" if ext == "jpeg" else ext)
    return f"upload:{stored}"


def _store(data_dir: Path, content: bytes, ext: str) -> str:
    stored = f"{hashlib.sha256(content).hexdigest()[:40]}.{ext}"
    path = upload_dir(data_dir) / stored
    if not path.exists():
        tmp = path.with_suffix(f".{ext}.part")
        tmp.write_bytes(content)
        tmp.replace(path)  # complete or absent, never half-written
    return stored


def stored_path(data_dir: Path, ref: str) -> Path | None:
    """The file behind an `upload:` reference, if it is one of ours."""
    name = ref.removeprefix("upload:")
    if not ref.startswith("upload:") or "/" in name or name.startswith("."):
        return None
    path = upload_dir(data_dir) / name
    return path if path.is_file() else None


# An upload no application refers to a day later is gone: a page uploads its files and
# submits them in the same request, so one left over was refused, or sent by no one.
ORPHANED_AFTER = timedelta(hours=24)


async def sweep(session: AsyncSession, data_dir: Path, *, now: datetime) -> int:
    """Delete the uploads older than ORPHANED_AFTER that no material or correction answer
    refers to (an anonymous visitor's files of a refused submission would otherwise fill
    the disk); returns how many. Several API processes may sweep at once: a file already
    gone is skipped."""
    cutoff = (now - ORPHANED_AFTER).timestamp()

    def old_files() -> list[Path]:
        return [
            p for p in upload_dir(data_dir).iterdir() if p.is_file() and p.stat().st_mtime < cutoff
        ]

    candidates = await to_thread.run_sync(old_files)
    refs = {f"upload:{p.name}": p for p in candidates if not p.name.endswith(".part")}
    used: set[str] = set()
    names = sorted(refs)
    for first in range(0, len(names), 500):
        some = names[first : first + 500]
        used.update(await session.scalars(select(MaterialRow.ref).where(MaterialRow.ref.in_(some))))
        used.update(
            await session.scalars(
                select(CorrectionFileRow.ref).where(CorrectionFileRow.ref.in_(some))
            )
        )
    gone = [p for p in candidates if p.name.endswith(".part")]  # a write that never ended
    gone += [path for ref, path in refs.items() if ref not in used]

    def delete_all() -> None:
        for path in gone:
            path.unlink(missing_ok=True)

    await to_thread.run_sync(delete_all)
    return len(gone)


async def may_open(session: AsyncSession, user: StaffUser, ref: str) -> bool:
    """Whether `user` may open the uploaded file `ref`: a material, or an answer to a
    correction, of an application he sees, and for a department's staff one with a step of
    his department's. A file's name is its content's digest, hard to guess; this holds also
    when a link is passed on."""
    owners = (
        select(MaterialRow.application_no)
        .where(MaterialRow.ref == ref)
        .union(select(CorrectionFileRow.application_no).where(CorrectionFileRow.ref == ref))
    )
    query = select(ApplicationRow.application_no).where(
        ApplicationRow.application_no.in_(owners), visible(user)
    )
    if user.role is Role.staff:
        ours = select(StepRow.application_no).where(StepRow.department == user.department)
        query = query.where(ApplicationRow.application_no.in_(ours))
    return await session.scalar(query.limit(1)) is not None

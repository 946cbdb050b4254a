"""Files applicants upload as materials: kept under the data directory, named by content.

Only the reference (`upload:<digest>.<ext>`) enters the application; staff open the file
through the pages. Naming by content makes a retried submission with the same files the same
submission (its Idempotency-Key matches), and stores each file once. Types and size are
checked here, so a bad file is refused before anything else.
"""

from __future__ import annotations

import hashlib
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

"""Development only: what the local SMS sink of `tongban dev` received (/dev/sms)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import ServicesDep
from api.errors import ApiError
from api.pages.common import AnyStaffPage, render
from cli.sms_sink import sent_messages
from observability.logs import mask

router = APIRouter(include_in_schema=False)


def _local(message: dict[str, Any], tz: tzinfo) -> datetime | None:
    """When the sink received it, in the centre's time (the sink writes UTC)."""
    try:
        return datetime.fromisoformat(str(message.get("received_at"))).astimezone(tz)
    except ValueError:
        return None


@router.get("/dev/sms")
async def sms(request: Request, user: AnyStaffPage, services: ServicesDep) -> Response:
    store = services.settings.sms_sink_file
    if store is None:
        raise ApiError(404, "not_found", "未使用本地短信网关（仅开发环境）")
    messages = [
        m | {"to": mask(str(m.get("to", ""))), "received_at": _local(m, services.tz)}
        for m in sent_messages(store)
    ]
    return render(request, "dev_sms.html", user=user, sent=messages)

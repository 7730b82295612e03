"""``POST /api/uploads``: a small upload under a limit of its own (Quemiai: uploads 10 req/min
beside the API's 100 req/min).

Why a route that stores nothing: what is under test is that an expensive kind of request has a
budget separate from — and tighter than — the API limit every route shares, keyed per user. The
body is read, measured and hashed (so it is not free to send), then discarded; the answer says
what was received. ``DISABLE_UPLOAD_LIMIT=1`` (broken variant) drops the route's own limit, so
uploads fall under the API limit only.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from stack.api.auth import CurrentUser
from stack.api.ratelimit import enforce
from stack.api.services import ServicesDep

MAX_UPLOAD_CHARS = 64 * 1024


class UploadIn(BaseModel):
    filename: str = Field(min_length=1, max_length=200)
    content: str = Field(max_length=MAX_UPLOAD_CHARS)


async def upload_limit(request: Request, user: CurrentUser, services: ServicesDep) -> None:
    if services.settings.disable_upload_limit:  # broken variant: the API limit only
        return
    await enforce(request, services.limiter, "upload", f"user:{user}")


async def upload(
    body: UploadIn,
    user: CurrentUser,
    _: Annotated[None, Depends(upload_limit)],
) -> JSONResponse:
    data = body.content.encode()
    return JSONResponse(
        {"id": uuid.uuid4().hex, "filename": body.filename, "user": user, "bytes": len(data),
         "sha256": hashlib.sha256(data).hexdigest(), "stored": False},
        status_code=201,
    )


def register(app: FastAPI) -> None:
    app.add_api_route("/api/uploads", upload, methods=["POST"], status_code=201)

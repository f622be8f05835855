"""Domain and storage errors mapped to HTTP once, with one body shape: {"detail": message, "code": code}.

Domain messages are zh-CN already and pass through unchanged. Request-validation errors stay 422, with a
readable one-line `detail` plus the individual `errors`; nothing a client sends should ever produce a 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from core.storage import ObjectStoreUnavailable
from models.errors import Conflict, DomainError, Forbidden, NotFound, RateLimited, ValidationFailed

# Most specific first: InvalidTransition is a Conflict, RosterFileError a ValidationFailed.
DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (Conflict, status.HTTP_409_CONFLICT),
    (RateLimited, status.HTTP_429_TOO_MANY_REQUESTS),
    (ValidationFailed, status.HTTP_422_UNPROCESSABLE_CONTENT),
)


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error this API produces itself."""
    return {"detail": detail, "code": code, **extra}


def status_of(exc: DomainError) -> int:
    """The HTTP status of a domain error (400 for a DomainError of no known kind)."""
    for kind, code in DOMAIN_STATUS:
        if isinstance(exc, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return JSONResponse(error_body(exc.message, exc.code), status_code=status_of(exc), headers=headers)


def _store_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    body = error_body("文件存储暂时不可用，请稍后再试", "storage_unavailable")
    return JSONResponse(body, status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "30"})


def _integrity_error(_request: Request, _exc: Exception) -> JSONResponse:
    body = error_body("数据冲突：记录已存在或已被他人修改，请刷新后重试", "integrity_conflict")
    return JSONResponse(body, status_code=status.HTTP_409_CONFLICT)


def _data_error(_request: Request, _exc: Exception) -> JSONResponse:
    body = error_body("数据格式无效（例如含有不允许的字符或数值超出范围）", "invalid_data")
    return JSONResponse(body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def readable_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic's error list reduced to JSON-safe {field, message, type} entries."""
    readable = []
    for error in errors:
        loc = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        readable.append({"field": loc, "message": message, "type": str(error.get("type", ""))})
    return readable


def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = readable_errors(exc.errors())
    summary = "；".join(f"{e['field']}: {e['message']}" for e in errors)
    body = error_body(f"请求数据无效：{summary}", "request_invalid", errors=errors)
    return JSONResponse(body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def install_error_handlers(app: FastAPI) -> None:
    """Register every mapping on the app."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(ObjectStoreUnavailable, _store_unavailable)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)

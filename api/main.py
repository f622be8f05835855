"""The FastAPI application: routers, error mapping and OpenAPI docs at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import (
    auth,
    cases,
    claims,
    disclosures,
    funds,
    health,
    letters,
    my_claims,
    notices,
    notifications,
    rosters,
    rules,
    tasks,
    units,
    users,
    what_if,
)
from core.settings import get_settings

TITLE = "工会职工医疗互助保障 API"


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """At start: size the worker-thread pool the blocking routes run in (settings.api_threads)."""
    to_thread.current_default_thread_limiter().total_tokens = get_settings().api_threads
    yield


def create_app() -> FastAPI:
    """A fresh application with every router and error handler."""
    app = FastAPI(
        lifespan=lifespan,
        title=TITLE,
        version="0.1.0",
        description=(
            "Union medical mutual-aid programme: reviewers' queue, public notice and objections, case tracking, "
            "rosters, renewal, fund collection, disclosures."
        ),
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    routers = (
        health, auth, users, tasks, notifications, claims, letters, cases, my_claims, rosters, units, funds, rules,
        what_if, notices, disclosures,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    return app


app = create_app()

"""The FastAPI application: routers, error mapping and OpenAPI docs at /docs."""

from __future__ import annotations

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

TITLE = "工会职工医疗互助保障 API"


def create_app() -> FastAPI:
    """A fresh application with every router and error handler."""
    app = FastAPI(
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

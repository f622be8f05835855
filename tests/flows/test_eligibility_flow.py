"""The eligibility flow on real Prefect: counts and the breakdown by reason come back and as table artifacts.

It lives beside the task tests (its own temporary Prefect server for this module) rather than under
tests/flows, whose conftest starts one for the whole flow suite.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from core import settings as settings_module
from flows.eligibility import eligibility_flow
from tests.factories import build_world
from tests.flows.artifacts import table
from tests.tasks.eligibility.test_eligibility import register


def test_the_flow_reports_counts_and_reasons(
    session: Session, app_settings: settings_module.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_settings, "chunk_size", 2)  # several chunks, several task runs
    world = build_world(session, year=2040)
    register(
        session,
        world,
        [
            (date(1980, 1, 1), "在职", "G11"),
            (date(1981, 1, 1), "退休", "G21"),
            (date(1930, 1, 1), "在职", "G11"),
            (date(1931, 1, 1), "在职", "G12"),
            (date(2025, 6, 1), "在职", "G22"),
            (date(1980, 1, 1), "在职", "X01"),
        ],
    )
    session.commit()

    state = eligibility_flow("MA", 2040, return_state=True)
    result = state.result()
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None

    assert {k: result[k] for k in ("eligible", "ineligible", "needs_review")} == {
        "eligible": 2,
        "ineligible": 3,
        "needs_review": 1,
    }
    assert result["by_reason"] == {"年龄不在16-75周岁范围内": 3, "登记单位不是基层工会，需人工审核": 1}
    assert table(flow_run_id, "eligibility") == [
        {"指标": "eligible", "数值": 2},
        {"指标": "ineligible", "数值": 3},
        {"指标": "needs_review", "数值": 1},
    ]
    assert table(flow_run_id, "eligibility-reasons") == [
        {"结果": "不符合条件", "原因": "年龄不在16-75周岁范围内", "人数": 3},
        {"结果": "待人工审核", "原因": "登记单位不是基层工会，需人工审核", "人数": 1},
    ]

"""The service desk's claim commands on a real database and object store: submit, add documents, list, sweep."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from core.settings import Settings
from core.storage.base import sha256_hex
from core.storage.local import LocalObjectStore
from models.audit import AuditEvent
from models.claims import Claim, ClaimDocument
from mutualaid.cli import app
from mutualaid.demo.data import pdf_bytes, png_bytes
from tasks.claims.documents import object_key_for
from tests.api.conftest import enrol
from tests.factories import World, build_world, id_number

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def world(app_settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    """The standard world with members 1 and 2 covered at G11."""
    built = build_world(session)
    enrol(session, built, range(1, 3), unit=0, paid_on=date(2026, 1, 5))
    return built


def claim_file(tmp_path: Path, n: int, **changes: Any) -> Path:
    data = {
        "id_number": id_number(n),
        "benefit_type": "hospitalisation",
        "admission_date": "2026-05-01",
        "discharge_date": "2026-05-10",
        "hospital_name": "市第一人民医院",
        "hospital_tier": "tier3",
        "invoice_numbers": [f"FP{n}"],
        "total_cost": "10000.00",
        "basic_insurance": "6000.00",
        "self_paid": "500.00",
    } | changes
    path = tmp_path / f"claim{n}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def scan_files(tmp_path: Path, seed: int, *types: str) -> list[str]:
    """DOC_TYPE=path arguments for scans written to tmp_path."""
    args = []
    for i, doc_type in enumerate(types):
        if doc_type in ("id_card", "bank_card"):
            path, data = tmp_path / f"{doc_type}-{seed}.png", png_bytes(seed * 10 + i)
        else:
            path, data = tmp_path / f"{doc_type}-{seed}.pdf", pdf_bytes(f"cli {seed} {doc_type}")
        path.write_bytes(data)
        args.append(f"{doc_type}={path}")
    return args


def test_submit_add_documents_and_list_from_the_command_line(
    world: World, session: Session, store: LocalObjectStore, tmp_path: Path
) -> None:
    submitted = invoke(
        "claim", "submit", "--programme", "MA", "--file", str(claim_file(tmp_path, 1)),
        *scan_files(tmp_path, 1, "id_card", "invoice", "expense_list"),
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "材料不全" in submitted.output and "尚缺材料：出院小结、基本医保结算单、银行卡" in submitted.output
    assert id_number(1) not in submitted.output
    claim = session.exec(select(Claim)).one()
    session.commit()
    assert claim.filed_by is None and claim.reference in submitted.output
    assert len(store.list("claims/")) == 3

    added = invoke(
        "claim", "add-documents", claim.reference,
        *scan_files(tmp_path, 1, "discharge_summary", "settlement_statement", "bank_card"),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "已提交" in added.output and "材料 6 份" in added.output
    listed = invoke("claim", "documents", claim.reference)
    assert listed.exit_code == 0, listed.output
    assert "出院小结" in listed.output and "discharge_summary-1.pdf" in listed.output
    assert len(store.list("claims/")) == 6
    actors = {e.actor_label for e in session.exec(select(AuditEvent).where(AuditEvent.entity_type == "claim"))}
    session.commit()
    assert len(actors) == 1 and next(iter(actors)).startswith("cli")


@pytest.mark.parametrize(
    ("changes", "documents", "reason"),
    [
        ({"total_cost": "-5"}, ["invoice"], "total_cost：不能为负数"),
        ({"discharge_date": "2026-04-01"}, ["invoice"], "出院日期早于入院日期"),
        ({"discharge_date": "2099-01-01"}, ["invoice"], "出院日期不能晚于今天"),
        ({"hospital_tier": "tier9"}, ["invoice"], "hospital_tier：取值无效"),
        ({"id_number": id_number(99)}, ["invoice"], "未找到该会员"),
        ({"programme_code": "TA"}, ["invoice"], "programme_code 与 --programme 不一致"),
        ({}, ["passport"], "材料类型不认识"),
    ],
)
def test_bad_input_exits_1_with_a_reason_and_leaves_nothing(
    world: World,
    session: Session,
    store: LocalObjectStore,
    tmp_path: Path,
    changes: dict[str, Any],
    documents: list[str],
    reason: str,
) -> None:
    paths = [f"{t}={tmp_path / 'scan.pdf'}" for t in documents]
    (tmp_path / "scan.pdf").write_bytes(pdf_bytes("a scan"))
    result = invoke("claim", "submit", "--programme", "MA", "--file", str(claim_file(tmp_path, 1, **changes)), *paths)
    assert result.exit_code == 1, result.output
    assert reason in result.output
    assert id_number(1) not in result.output and id_number(99) not in result.output
    assert store.list("claims/") == []
    assert session.exec(select(Claim)).all() == []
    session.commit()


def test_bad_document_arguments_exit_1(world: World, tmp_path: Path) -> None:
    claim = str(claim_file(tmp_path, 1))
    no_equals = invoke("claim", "submit", "--programme", "MA", "--file", claim, "invoice.pdf")
    assert no_equals.exit_code == 1 and "类型=文件路径" in no_equals.output
    missing = invoke("claim", "submit", "--programme", "MA", "--file", claim, f"invoice={tmp_path / 'nope.pdf'}")
    assert missing.exit_code == 1 and "找不到文件" in missing.output
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    text_file = invoke("claim", "submit", "--programme", "MA", "--file", claim, f"invoice={tmp_path / 'notes.txt'}")
    assert text_file.exit_code == 1 and "仅接受 PDF、JPEG、PNG" in text_file.output
    unknown = invoke("claim", "documents", "C2026-NOPE")
    assert unknown.exit_code == 1 and "未找到案件" in unknown.output


def test_adding_documents_to_a_submitted_claim_exits_1(
    world: World, session: Session, store: LocalObjectStore, tmp_path: Path
) -> None:
    docs = scan_files(tmp_path, 2, "id_card", "invoice", "expense_list", "discharge_summary", "settlement_statement")
    docs += scan_files(tmp_path, 5, "bank_card")
    assert invoke("claim", "submit", "--programme", "MA", "--file", str(claim_file(tmp_path, 2)), *docs).exit_code == 0
    reference = session.exec(select(Claim.reference)).one()
    session.commit()
    result = invoke("claim", "add-documents", reference, *scan_files(tmp_path, 3, "invoice"))
    assert result.exit_code == 1 and "不能补充材料" in result.output
    assert len(store.list("claims/")) == 6
    nothing = invoke("claim", "add-documents", reference)
    assert nothing.exit_code == 1 and "至少上传一份材料" in nothing.output


def test_sweep_documents_removes_old_orphans_only(
    world: World, session: Session, store: LocalObjectStore, tmp_path: Path
) -> None:
    docs = scan_files(tmp_path, 4, "invoice")
    assert invoke("claim", "submit", "--programme", "MA", "--file", str(claim_file(tmp_path, 1)), *docs).exit_code == 0
    old = time.time() - 3 * 3600
    for key in store.list("claims/"):  # the filed claim's object is old too, but referenced
        os.utime(store.root / key, (old, old))
    orphan_data = png_bytes(77)
    orphan = object_key_for(sha256_hex(orphan_data), "png")
    store.put(orphan, orphan_data, media_type="image/png")
    os.utime(store.root / orphan, (old, old))
    fresh_orphan = object_key_for(sha256_hex(png_bytes(78)), "png")
    store.put(fresh_orphan, png_bytes(78), media_type="image/png")

    dry = invoke("claim", "sweep-documents", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "检查 3 个对象：被引用 1，未满 60 分钟 1，可删除 1" in dry.output and orphan in dry.output
    assert store.exists(orphan)
    swept = invoke("claim", "sweep-documents", "--older-than-minutes", "60")
    assert swept.exit_code == 0 and "已删除 1" in swept.output
    assert not store.exists(orphan) and store.exists(fresh_orphan)
    assert len(session.exec(select(ClaimDocument)).all()) == 1
    session.commit()
    assert invoke("claim", "sweep-documents", "--older-than-minutes", "0").exit_code != 0  # at least a minute

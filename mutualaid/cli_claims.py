"""Claims at the service desk: file a claim with its documents, add documents, list them, sweep orphans.

Documents are given as DOC_TYPE=path (e.g. invoice=scans/fp.pdf). The member's ID number is read from the
claim file, never from the command line (it would stay in the shell history and the process list). The
commands act as the system under the label 'cli:<OS user>' and use the same service as the API
(tasks.claims.filing); bad input ends the command with a zh-CN reason and exit code 1.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mutualaid.cli_common import domain_errors

if TYPE_CHECKING:
    from models.claims import Claim, ClaimDocument
    from models.states import Actor
    from tasks.claims.documents import UploadedDocument

claim = typer.Typer(help="File claims with their documents.", no_args_is_help=True)

DocumentArgs = Annotated[
    list[str] | None, typer.Argument(help="材料：类型=文件路径，如 invoice=fp.pdf（可多个）", show_default=False)
]


@contextmanager
def claim_errors() -> Iterator[None]:
    """A domain error or an unreachable object store: its reason on stderr and exit code 1."""
    from core.storage import ObjectStoreUnavailable

    try:
        with domain_errors():
            yield
    except ObjectStoreUnavailable:
        typer.secho("错误：文件存储暂时不可用，请稍后再试（未保存任何内容）", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def cli_actor() -> Actor:
    """The system actor of a command-line session, labelled by the OS user."""
    from models.states import Actor

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return Actor(None, f"cli:{user}" if user else "cli")


def read_documents(specs: list[str]) -> list[UploadedDocument]:
    """DOC_TYPE=path arguments as uploads: each type checked, each file read up to the size limit + 1 byte."""
    from models.errors import ValidationFailed
    from tasks.claims.filing_input import check_upload_count, upload_of

    check_upload_count(len(specs))
    uploads = []
    for spec in specs:
        doc_type, sep, raw_path = spec.partition("=")
        if not sep or not raw_path:
            raise ValidationFailed(f"材料参数应为 类型=文件路径：{spec!r}", code="bad_document_argument")
        path = Path(raw_path)
        if not path.is_file():
            raise ValidationFailed(f"找不到文件：{raw_path}", code="file_not_found")
        with path.open("rb") as stream:
            uploads.append(upload_of(doc_type, path.name, stream))
    return uploads


def _print_claim(found: Claim, documents: list[ClaimDocument]) -> None:
    from tasks.common.labels import label

    typer.echo(f"案件 {found.reference}（id {found.id}）：{label('claim_status', found.status)}")
    if found.missing_documents:
        missing = "、".join(label("document_type", code) for code in found.missing_documents)
        typer.echo(f"尚缺材料：{missing}")
    typer.echo(f"材料 {len(documents)} 份")


@claim.command("submit")
def submit_command(
    programme: Annotated[str, typer.Option("--programme", help="保障项目编码，如 MA")],
    file: Annotated[
        Path,
        typer.Option("--file", exists=True, dir_okay=False, readable=True, help="申请数据 JSON（含会员 id_number）"),
    ],
    documents: DocumentArgs = None,
) -> None:
    """File a claim: the data (with the member's ID number) from --file, the documents as DOC_TYPE=path."""
    from core.db import session_scope
    from core.storage import get_store
    from models.errors import ValidationFailed
    from tasks.claims.filing import documents_of, file_claim
    from tasks.claims.filing_input import parse_filing

    with claim_errors():
        filing = parse_filing(file.read_bytes())
        if filing.programme_code not in (None, programme):
            raise ValidationFailed("申请文件中的 programme_code 与 --programme 不一致", code="programme_mismatch")
        filing.programme_code = programme
        uploads = read_documents(documents or [])
        with session_scope() as session:
            filed = file_claim(
                session=session, store=get_store(), filing=filing, uploads=uploads, user=None, actor=cli_actor(),
                commit=session.commit,
            )  # fmt: skip
            _print_claim(filed, documents_of(session=session, claim=filed))


@claim.command("add-documents")
def add_documents_command(
    reference: Annotated[str, typer.Argument(help="案件编号，如 C2026-7F3A91C2")],
    documents: DocumentArgs = None,
) -> None:
    """Add documents to an incomplete or returned claim; it resumes once nothing is missing."""
    from core.db import session_scope
    from core.storage import get_store
    from tasks.claims.filing import add_claim_documents, documents_of
    from tasks.claims.filing_input import check_upload_count
    from tasks.common.access import claim_for_filer

    with claim_errors():
        check_upload_count(len(documents or []), at_least=1)
        uploads = read_documents(documents or [])
        with session_scope() as session:
            found = claim_for_filer(session=session, user=None, reference=reference)
            updated = add_claim_documents(
                session=session, store=get_store(), claim=found, uploads=uploads, actor=cli_actor(),
                commit=session.commit,
            )  # fmt: skip
            _print_claim(updated, documents_of(session=session, claim=updated))


@claim.command("documents")
def documents_command(reference: Annotated[str, typer.Argument(help="案件编号")]) -> None:
    """List a claim's documents: type, file name, media type, size and SHA-256."""
    from rich.console import Console
    from rich.table import Table

    from core.db import get_engine, reading, session_scope
    from models.base import as_utc
    from tasks.claims.filing import documents_of
    from tasks.common.access import claim_for_filer
    from tasks.common.labels import label

    with claim_errors(), session_scope(reading(get_engine())) as session:
        found = claim_for_filer(session=session, user=None, reference=reference)
        docs = documents_of(session=session, claim=found)
    table = Table(title=f"案件 {found.reference} 的材料：{len(docs)} 份（{label('claim_status', found.status)}）")
    for column in ("编号", "类型", "文件名", "格式", "大小(字节)", "SHA-256", "上传时间(UTC)"):
        table.add_column(column)
    for doc in docs:
        table.add_row(
            str(doc.id), label("document_type", str(doc.doc_type)), doc.filename, doc.media_type, str(doc.size),
            doc.sha256, as_utc(doc.uploaded_at).strftime("%Y-%m-%d %H:%M:%S"),
        )  # fmt: skip
    Console(width=200).print(table)


@claim.command("sweep-documents")
def sweep_documents_command(
    older_than_minutes: Annotated[
        int, typer.Option(min=1, help="只清理至少这么多分钟前写入的对象（给进行中的提交留出时间）")
    ] = 60,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只报告，不删除")] = False,
) -> None:
    """Delete stored claim documents that no claim references (left by a crash between storing and committing)."""
    from datetime import timedelta

    from core.db import get_engine, reading, session_scope
    from core.storage import get_store
    from tasks.claims.document_sweep import sweep_unreferenced_documents

    with claim_errors(), session_scope(reading(get_engine())) as session:
        report = sweep_unreferenced_documents(
            session=session, store=get_store(), grace=timedelta(minutes=older_than_minutes), dry_run=dry_run
        )
    verb = "可删除" if dry_run else "已删除"
    typer.echo(
        f"检查 {report.examined} 个对象：被引用 {report.referenced}，未满 {older_than_minutes} 分钟 "
        f"{report.too_young}，{verb} {report.deleted}"
    )
    for key in report.keys:
        typer.echo(f"  {key}")

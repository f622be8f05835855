"""Claim intake from the object store: each claim handed in at a service desk is a folder
`inbox/claims/<batch>/<n>/` with `claim.json` (the claim data, the member's ID number and the list of
documents) and the scanned document files. Filing moves the documents to their content-addressed keys."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore
from models.claims import Claim, ClaimInput
from models.claims_enums import DocumentType
from models.errors import DomainError
from models.members import Member
from models.programmes import Programme
from models.states import Actor
from tasks.claims.documents import UploadedDocument, stored_documents
from tasks.claims.submission import submit_claim

INBOX = "inbox/claims"


@dataclass
class IntakeResult:
    """Claims filed from a set of intake folders, and the folders refused with their reasons."""

    filed: list[int] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def intake_folders(store: ObjectStore, batch: str) -> list[str]:
    """The intake folders of a batch, sorted."""
    return sorted({key.rsplit("/", 1)[0] for key in store.list(f"{INBOX}/{batch}/") if key.endswith("/claim.json")})


def write_intake(
    store: ObjectStore, folder: str, *, id_number: str, programme_code: str, claim: ClaimInput,
    documents: list[tuple[DocumentType, str, bytes]],
) -> None:  # fmt: skip
    """Put one intake folder into the inbox (what a service desk's scanner station does)."""
    for _doc_type, filename, data in documents:
        store.put(f"{folder}/files/{filename}", data, media_type="application/octet-stream", immutable=False)
    manifest = {
        "id_number": id_number,
        "programme_code": programme_code,
        "claim": claim.model_dump(mode="json"),
        "documents": [{"doc_type": str(t), "filename": name} for t, name, _ in documents],
    }
    store.put(
        f"{folder}/claim.json", json.dumps(manifest, ensure_ascii=False).encode(), media_type="application/json",
        immutable=False,
    )  # fmt: skip


def file_intakes(*, session: Session, store: ObjectStore, folders: list[str], actor: Actor) -> IntakeResult:
    """File each intake folder as a claim; a bad folder is refused with a reason and spoils nothing else."""
    result = IntakeResult()
    programmes: dict[str, int] = {}
    done = set(session.exec(select(Claim.intake_key).where(col(Claim.intake_key).in_(folders))).all())
    for folder in folders:
        if folder in done:  # filed by an earlier run: filing is idempotent
            continue
        try:
            with session.begin_nested():
                claim_id = _file_one(session=session, store=store, folder=folder, actor=actor, programmes=programmes)
            result.filed.append(claim_id)
        except (DomainError, ValidationError, KeyError, ValueError) as exc:
            result.refused[folder] = getattr(exc, "message", None) or type(exc).__name__
    return result


def _file_one(*, session: Session, store: ObjectStore, folder: str, actor: Actor, programmes: dict[str, int]) -> int:
    manifest = json.loads(store.get(f"{folder}/claim.json"))
    code = manifest["programme_code"]
    if code not in programmes:
        programme = session.exec(select(Programme).where(Programme.code == code)).first()
        if programme is None:
            raise KeyError(code)
        programmes[code] = programme.id or 0
    member = session.exec(select(Member).where(Member.id_number == manifest["id_number"])).first()
    if member is None:
        raise ValueError("未找到该会员")
    data = ClaimInput.model_validate(manifest["claim"])
    uploads = [
        UploadedDocument(DocumentType(d["doc_type"]), d["filename"], store.get(f"{folder}/files/{d['filename']}"))
        for d in manifest["documents"]
    ]
    with stored_documents(store, uploads) as stored:
        claim = submit_claim(
            session=session, member=member, programme_id=programmes[code], data=data, documents=stored, actor=actor
        )
        claim.intake_key = folder
        session.flush()
    return claim.id or 0

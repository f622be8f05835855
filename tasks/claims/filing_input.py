"""Claim filing input: the claim JSON (claim data plus whose claim and which programme) and the uploads,
validated with zh-CN reasons that name fields but never echo their values (an ID number stays unsaid)."""

from __future__ import annotations

from typing import Any, BinaryIO

from pydantic import ConfigDict, ValidationError
from pydantic import Field as PField

from core.settings import get_settings
from models.claims import ClaimInput
from models.claims_enums import DocumentType
from models.errors import ValidationFailed
from tasks.claims.documents import UploadedDocument, check_filename, read_limited

MAX_DOCUMENTS_PER_FILING = 20  # with the per-file limit, what one request may hold in memory at most
_FILING_FIELDS = {"programme_code", "id_number", "member_id"}


class ClaimFiling(ClaimInput):
    """The claim data plus whose claim it is and under which programme (the `claim` form field, claim.json)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    programme_code: str | None = PField(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    id_number: str | None = PField(default=None, min_length=1, max_length=32)
    member_id: int | None = PField(default=None, ge=1, le=2_147_483_647)

    def claim_input(self) -> ClaimInput:
        """The claim data alone (without the ID number)."""
        return ClaimInput.model_validate(self.model_dump(exclude=_FILING_FIELDS))


_MESSAGES: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的字段",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "date_parsing": "日期格式无效（应为 YYYY-MM-DD）",
    "date_from_datetime_parsing": "日期格式无效（应为 YYYY-MM-DD）",
    "date_type": "日期格式无效（应为 YYYY-MM-DD）",
    "decimal_parsing": "金额格式无效",
    "decimal_type": "金额格式无效",
    "decimal_max_places": "金额最多保留两位小数",
    "decimal_max_digits": "金额过大",
    "decimal_whole_digits": "金额过大",
    "string_type": "应为文字",
    "string_too_long": "过长",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "格式无效",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "list_type": "应为列表",
    "too_long": "条目过多",
    "enum": "取值无效",
}
_VALUE_ERRORS = {
    "discharge_date is before admission_date": "出院日期早于入院日期",
    "an agent's ID number is required when an agent files the claim": "由代办人申请时须填写代办人身份证号",
    "invoice number longer than 40 characters": "发票号超过 40 个字符",
}


def _reason(error: Any) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than"):
        return "不能为负数" if str(ctx.get("ge", ctx.get("gt"))) == "0" else f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    if kind == "enum":
        return f"取值无效（可选：{ctx.get('expected', '')}）"
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        return _VALUE_ERRORS.get(message, message)
    return _MESSAGES.get(kind, str(error.get("msg", "")))


def describe_errors(exc: ValidationError) -> str:
    """A pydantic validation error as one zh-CN line: 'field：reason；…' (never the values themselves)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{field}：{_reason(error)}" if field else _reason(error))
    return "；".join(parts)


def parse_filing(raw: str | bytes) -> ClaimFiling:
    """The claim JSON, validated; ValidationFailed (code claim_invalid) with the reasons."""
    try:
        return ClaimFiling.model_validate_json(raw)
    except ValidationError as exc:
        raise ValidationFailed(f"申请数据无效：{describe_errors(exc)}", code="claim_invalid") from None


def parse_document_type(value: str) -> DocumentType:
    """A document type code; ValidationFailed naming the known ones."""
    try:
        return DocumentType(value.strip())
    except ValueError:
        known = "、".join(t.value for t in DocumentType)
        raise ValidationFailed(
            f"材料类型不认识：{value[:40]!r}（可选：{known}）", code="unknown_document_type"
        ) from None


def upload_of(doc_type: str, filename: str, stream: BinaryIO) -> UploadedDocument:
    """One upload: its type parsed, its name checked, at most the size limit + 1 bytes read."""
    kind = parse_document_type(doc_type)
    check_filename(filename)
    return UploadedDocument(kind, filename, read_limited(stream, max_bytes=get_settings().max_document_bytes))


def check_upload_count(count: int, *, at_least: int = 0) -> None:
    """Not more documents in one request than MAX_DOCUMENTS_PER_FILING (and at least `at_least`)."""
    if count > MAX_DOCUMENTS_PER_FILING:
        raise ValidationFailed(f"一次最多上传 {MAX_DOCUMENTS_PER_FILING} 份材料，请分次补充", code="too_many_documents")
    if count < at_least:
        raise ValidationFailed("请至少上传一份材料", code="no_documents")

"""One source for the words people read (gateway/labels.py): every code the gateway
stores has its Indonesian label, and every page takes it from there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gateway import labels
from gateway.intake import Outcome
from gateway.reply_policy import ALL_NOTICES
from normalizer.types import Category, Channel, RejectReason
from tests.support import REPO

EVENT_KINDS = ("inbound", "forward", "reply", "review", "channel", "status")
# Outcomes the outbox, review, replies and status sync record besides intake's own.
EVENT_OUTCOMES = (
    "forwarded",
    "retry",
    "dead",
    "sent",
    "unsendable",
    "no_reply_channel",
    "skipped",
    "replayed",
    "approved",
    "reassigned",
    "assigned",
    "dismissed",
)


@pytest.mark.parametrize(
    ("table", "codes"),
    [
        (labels.STATUS_LABELS, labels.COMPLAINT_STATUSES),
        (labels.CITIZEN_STATUS_LABELS, labels.COMPLAINT_STATUSES),
        (labels.STATUS_WORDS, labels.COMPLAINT_STATUSES),
        (labels.CHANNEL_LABELS, [c.value for c in Channel]),
        (labels.CATEGORY_LABELS, [c.value for c in Category]),
        (labels.REPLY_PURPOSES, ALL_NOTICES),
        (labels.KIND_LABELS, EVENT_KINDS),
        (labels.OUTCOME_LABELS, [*(o.value for o in Outcome), *EVENT_OUTCOMES]),
        (labels.REASON_LABELS, [r.value for r in RejectReason]),
    ],
    ids=[
        "status",
        "citizen",
        "words",
        "channel",
        "category",
        "purpose",
        "kind",
        "outcome",
        "reason",
    ],
)
def test_every_code_has_its_words(table: dict[str, str], codes: list[str]) -> None:
    missing = [c for c in codes if not table.get(c, "").strip()]
    assert missing == []


def test_status_tables_name_exactly_the_statuses() -> None:
    for table in (labels.STATUS_LABELS, labels.CITIZEN_STATUS_LABELS, labels.STATUS_WORDS):
        assert tuple(table) == labels.COMPLAINT_STATUSES  # and in life-cycle order


def test_reason_words_fit_inside_a_sentence() -> None:
    assert labels.reason_words("empty_text") == "isi pesan kosong"
    assert labels.reason_words("nonsense") == "isinya tidak dapat dipakai"


def _label_tables(path: Path) -> list[str]:
    """Module-level `*_LABELS = {...}` dicts a file defines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.endswith(("_LABELS", "_WORDS"))
    ]


def test_no_other_module_keeps_a_label_table_of_its_own() -> None:
    """Codes the gateway stores are named in gateway/labels.py only. The form's own field
    names stay with the form (they name its inputs, not stored codes); the sandbox LAPOR
    (fakes/) names LAPOR's statuses, not ours."""
    found = {
        str(path.relative_to(REPO)): tables
        for folder in ("gateway", "channels", "normalizer")
        for path in (REPO / folder).rglob("*.py")
        if path != REPO / "gateway" / "labels.py" and (tables := _label_tables(path))
    }
    assert found == {"channels/web/form.py": ["FIELD_LABELS"]}


def test_the_core_labels_import_no_channel() -> None:
    tree = ast.parse((REPO / "gateway" / "labels.py").read_text(encoding="utf-8"))
    imported = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert all(getattr(n, "module", "") == "__future__" for n in imported)

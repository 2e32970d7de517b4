"""Attachment files under <data_dir>/attachments, named by their content's sha256.

Content addressing makes a redelivered message (after a crash, before its 250) reuse the
same files instead of leaving copies, and a file is complete or absent: it is written to
a temporary name, synced, then renamed. A crash before the commit leaves at most an
unreferenced file, never a complaint pointing at a missing one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from channels.email.mime import EXTENSIONS, MailAttachment
from normalizer.types import Attachment


def save_attachments(data_dir: Path, items: Iterable[MailAttachment]) -> tuple[Attachment, ...]:
    """Blocking file I/O: call it from a thread."""
    saved = []
    for item in items:
        digest = hashlib.sha256(item.data).hexdigest()
        rel = Path("attachments") / digest[:2] / (digest + EXTENSIONS.get(item.content_type, ""))
        target = data_dir / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                f.write(item.data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        saved.append(
            Attachment(
                filename=item.filename,
                content_type=item.content_type,
                size=len(item.data),
                path=rel.as_posix(),
            )
        )
    return tuple(saved)

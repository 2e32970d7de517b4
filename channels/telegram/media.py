"""Photos and documents of a message: getFile, download, store under <data_dir>/attachments.

Files are named by their content's sha256, written to a temporary name, synced and renamed
(the layout of the e-mail channel's attachments): a redelivered update reuses its files, and
a crash before the commit leaves at most an unreferenced file. A file that cannot be had
(over the size limit, refused, the API down) is left out with a note: the complaint's text
is never lost for the sake of its photo.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from channels.telegram.client import BotApi, BotApiError
from channels.telegram.updates import FileRef
from normalizer.types import Attachment


@dataclass(frozen=True, slots=True)
class Fetched:
    attachments: tuple[Attachment, ...]
    notes: tuple[str, ...]
    token_refused: bool = False  # getFile answered 401: the channel needs an operator


async def fetch_files(
    api: BotApi, data_dir: Path, files: tuple[FileRef, ...], max_bytes: int
) -> Fetched:
    attachments: list[Attachment] = []
    notes: list[str] = []
    token_refused = False
    for ref in files:
        if ref.file_size is not None and ref.file_size > max_bytes:
            notes.append(
                f"attachment skipped: {ref.kind} of {ref.file_size} bytes is over the "
                f"limit of {max_bytes}"
            )
            continue
        try:
            path = await api.get_file_path(ref.file_id)
            data = await api.download(path, max_bytes)
        except BotApiError as e:
            notes.append(f"attachment skipped: {ref.kind} could not be fetched ({e})")
            token_refused = token_refused or e.kind == "unauthorized"
            continue
        attachments.append(await asyncio.to_thread(_store, data_dir, ref, path, data))
    return Fetched(tuple(attachments), tuple(notes), token_refused)


def _store(data_dir: Path, ref: FileRef, file_path: str, data: bytes) -> Attachment:
    """Blocking file I/O: runs in a thread."""
    digest = hashlib.sha256(data).hexdigest()
    # From the type, never from the citizen's file name (no ".exe" under our data dir).
    suffix = mimetypes.guess_extension(ref.mime_type) or ""
    rel = Path("attachments") / digest[:2] / (digest + suffix)
    target = data_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    return Attachment(
        filename=ref.file_name or Path(file_path).name or f"{ref.kind}{suffix}",
        content_type=ref.mime_type,
        size=len(data),
        path=rel.as_posix(),
    )

"""SQLite's WAL checkpoints, off the commit path.

By default the connection whose commit takes the WAL past 1,000 pages copies them into the
database file and syncs it, inside that commit: at full intake that was two thirds of the
writer thread's commit time, and the batch's callers waited for it. Here a thread of its
own, with its own connection, runs a PASSIVE checkpoint (it never blocks the writer or
readers) every `interval_s`; sqlite3 releases the GIL meanwhile, so it uses the second core.

The store's connections keep an automatic checkpoint at WAL_SAFETY_PAGES as a safety net:
should this thread fall behind or fail, the WAL stays bounded all the same.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

WAL_SAFETY_PAGES = 10_000  # ~40 MB of WAL: never reached while the checkpointer keeps up


class Checkpointer:
    def __init__(self, database: str, interval_s: float = 0.2, timeout_s: float = 30.0):
        self._database = database
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._database, timeout=self._timeout_s)
        except sqlite3.Error as e:
            log.warning("wal checkpointer not started", extra={"error": str(e)})
            return
        try:
            while not self._stop.wait(self._interval_s):
                self._checkpoint(conn, "PASSIVE")
            # The last one also empties the WAL file, even while another process keeps the
            # database open (otherwise only the last connection to close does).
            self._checkpoint(conn, "TRUNCATE")
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection, mode: str) -> None:
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error as e:
            # A full disk, say: the next tick tries again, and the safety net bounds the
            # WAL meanwhile. (A reader holding an old snapshot only makes it stop short.)
            if not self._failing:
                log.warning("wal checkpoint failing", extra={"mode": mode, "error": str(e)})
            self._failing = True
            return
        if self._failing:
            log.info("wal checkpoint working again")
        self._failing = False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

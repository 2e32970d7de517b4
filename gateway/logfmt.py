"""Log lines as `time level logger message key=value ...`: the `extra` keys modules pass
(component, service, error type, ...) are part of the line, so a log search finds them."""

from __future__ import annotations

import logging

from gateway.logsafe import redact

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class KeyValueFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if not extras:
            return line
        pairs = redact(" ".join(f"{k}={_value(v)}" for k, v in sorted(extras.items())))
        head, sep, rest = line.partition("\n")  # keep a traceback below the pairs
        return f"{head} {pairs}{sep}{rest}"


def _value(value: object) -> str:
    text = str(value)
    return repr(text) if (" " in text or not text) else text


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)

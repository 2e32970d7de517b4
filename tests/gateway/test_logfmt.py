import logging

from gateway.logfmt import KeyValueFormatter


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"name": "gateway.test", "levelname": "WARNING", "msg": msg})
    rec.__dict__.update(extra)
    return rec


def test_extras_become_key_value_pairs() -> None:
    line = KeyValueFormatter().format(
        record("component unhealthy", component="twitter", detail="X menolak token")
    )
    assert line.endswith("component unhealthy component=twitter detail='X menolak token'")


def test_plain_message_is_unchanged() -> None:
    assert (
        KeyValueFormatter()
        .format(record("gateway started"))
        .endswith("WARNING gateway.test gateway started")
    )

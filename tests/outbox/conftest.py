"""The sandbox LAPOR fixture for this suite."""

from tests.lapor.sandbox_fixture import sandbox  # noqa: F401

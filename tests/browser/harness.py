"""A real gateway process and a real Chromium (Debian's) driven by Playwright.

Playwright cannot download its own browser here, so it drives /usr/bin/chromium
(`LAPOR_TEST_CHROMIUM` overrides). Screenshots go to var/test-artifacts/screenshots/,
to be looked at, not compared.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO, run_cli

CHROMIUM = os.environ.get("LAPOR_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = REPO / "var" / "test-artifacts" / "screenshots"
# The flags this machine needs: no sandbox as root, and no background calls to a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class LiveGateway:
    """`lapor-gateway serve` on a free port with its own SQLite store."""

    base_url: str
    config: Path
    log: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def add_operator(
        self, name: str, password: str, role: str = "operator", region: str | None = None
    ) -> None:
        args = ["operator", "add", name, "--role", role, "--password-stdin"]
        if region:
            args += ["--region", region]
        done = run_cli(self.config, *args, input=password + "\n")
        assert done.returncode == 0, done.stderr

    def cli(self, *args: str, input: str | None = None) -> str:
        done = run_cli(self.config, *args, input=input)
        assert done.returncode == 0, done.stderr
        return done.stdout


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"

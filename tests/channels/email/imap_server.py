"""Real IMAP servers for the poller tests: Debian's Dovecot, else PyPI's pymap.

Dovecot (apt-get install -y dovecot-imapd) runs once per test session from a private config
(no system service is touched); any user name logs in with the password below, and each
test takes a fresh user, so each test has its own empty mailbox. pymap's in-memory backend
has one user only, so it is started per test instead.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port

PASSWORD = "rahasia-uji"


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str
    backend: str

    def toml(self, **extra: object) -> str:
        keys: dict[str, object] = {
            "enabled": True,
            "host": self.host,
            "port": self.port,
            "ssl": False,
            "username": self.user,
            "password": self.password,
            "poll_interval_s": 0.5,
            "backoff_min_s": 0.1,
            "backoff_max_s": 0.5,
        } | extra
        lines = ["[channels.email.imap]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
        return "\n".join(lines) + "\n"


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"IMAP server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"IMAP server on port {port} did not greet within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Dovecot:
    def __init__(self) -> None:
        self.port = free_port()
        # Not under pytest's tmp dir: that is private to our user, and Dovecot's
        # mail processes run as another one when we are root.
        self.dir = Path(tempfile.mkdtemp(prefix="lapor-dovecot-"))
        self.dir.chmod(0o755)
        self.config = self.dir / "dovecot.conf"
        mail = self.dir / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            mail_user, internal, login = "nobody", "dovecot", "dovenull"
            shutil.chown(mail, "nobody", "nogroup")
            group = "nogroup"
        else:
            mail_user = internal = login = getpass.getuser()
            group = str(os.getgid())
        self.config.write_text(
            f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = lapor-test-{uuid.uuid4().hex[:8]}
log_path = {self.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{mail}/%u
first_valid_uid = 1
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={group} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, self.proc)

    def account(self) -> ImapAccount:
        return ImapAccount("127.0.0.1", self.port, f"u{uuid.uuid4().hex[:10]}", PASSWORD, "dovecot")

    def kick(self, user: str) -> None:
        """Drop the user's connections from the server side."""
        subprocess.run(
            ["doveadm", "-c", str(self.config), "kick", user],
            check=True,
            capture_output=True,
            timeout=10,
        )

    def close(self) -> None:
        stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class Pymap:
    def __init__(self) -> None:
        self.port = free_port()
        pymap = Path(sys.executable).with_name("pymap")
        self.proc = subprocess.Popen(
            [
                str(pymap),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-tls",
                "dict",
                "--demo-user",
                "lapor",
                "--demo-password",
                PASSWORD,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, self.proc)

    def account(self) -> ImapAccount:
        return ImapAccount("127.0.0.1", self.port, "lapor", PASSWORD, "pymap")

    def close(self) -> None:
        stop(self.proc)


def backend() -> str | None:
    if shutil.which("dovecot") and shutil.which("doveadm"):
        return "dovecot"
    if Path(sys.executable).with_name("pymap").exists():
        return "pymap"
    return None

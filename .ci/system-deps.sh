#!/usr/bin/env bash
# Install what the test suite needs from Debian, only when it is missing, and make sure
# the PostgreSQL the suite uses is running. Idempotent; does nothing on a ready machine.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT_UPDATED=""
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "system-deps: apt-get not found; install $* by hand" >&2
    return 1
  fi
  if [ -z "$APT_UPDATED" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL: only when the suite uses the default local server.
if [ "${LAPOR_TEST_DATABASE_URL:-default}" = "default" ]; then
  if ! command -v pg_isready >/dev/null && ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null; then
      version=$(ls /etc/postgresql | sort -V | tail -n1)
      $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
  fi
fi

# Dovecot: the IMAP tests start a private instance from their own config (no system service).
if ! command -v dovecot >/dev/null || ! command -v doveadm >/dev/null; then
  apt_install dovecot-imapd || echo "system-deps: dovecot unavailable; IMAP tests fall back to pymap" >&2
fi

# Kannel: its fakesmsc drives our Kannel webhook end to end (the test skips without it).
if ! command -v bearerbox >/dev/null; then
  apt_install kannel kannel-extras || echo "system-deps: kannel unavailable; its test is skipped" >&2
fi

# Chromium: the browser tests drive Debian's build through Playwright (which cannot
# download its own browser here).
if ! command -v chromium >/dev/null; then
  apt_install chromium fonts-dejavu-core
fi

# systemd-analyze: the tests verify deploy/lapor-gateway.service with it (skipped without).
if ! command -v systemd-analyze >/dev/null; then
  apt_install systemd || echo "system-deps: systemd-analyze unavailable; the unit checks are skipped" >&2
fi

# wrk: `make bench` loads the gateway from a separate process with it.
if ! command -v wrk >/dev/null; then
  apt_install wrk || echo "system-deps: wrk unavailable; make bench cannot run its HTTP rows" >&2
fi

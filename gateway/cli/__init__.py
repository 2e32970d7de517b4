"""`lapor-gateway [--config PATH] COMMAND` (design §6). Errors: one clear line, non-zero exit."""

from __future__ import annotations

import sys
from typing import Any

import click

from gateway.cli.backup import backup, restore
from gateway.cli.common import CliContext, run_guarded
from gateway.cli.complaints import complaints
from gateway.cli.db import db
from gateway.cli.fake_lapor import fake_lapor
from gateway.cli.log import log_cmd
from gateway.cli.operator import operator
from gateway.cli.outbox import outbox
from gateway.cli.purge import purge
from gateway.cli.reload import reload
from gateway.cli.report import report
from gateway.cli.serve import check_config, serve
from gateway.cli.stats import stats


class GuardedGroup(click.Group):
    """Errors an installer can fix become one line and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        return run_guarded(lambda: super(GuardedGroup, self).invoke(ctx))


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lapor-gateway", prog_name="lapor-gateway")
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: $LAPOR_GATEWAY_CONFIG, else config/gateway.toml).",
)
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """lapor-gateway: complaint ingestion for LAPOR!-SP4N."""
    ctx.obj = CliContext(config)


for command in (serve, check_config, db, complaints, log_cmd, stats, operator, outbox, fake_lapor):
    cli.add_command(command)
cli.add_command(reload)
cli.add_command(purge)
cli.add_command(report)
db.add_command(backup)
db.add_command(restore)


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="lapor-gateway")


if __name__ == "__main__":
    sys.exit(main())

"""The ``cronbridge`` command.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or input (the message says what
to fix).
"""

from __future__ import annotations

import click

from cronbridge.cli.local_cmd import local_cmd
from cronbridge.cli.schedule_cmds import convert_cmd, describe_cmd, next_cmd, validate_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cronbridge")
def cli() -> None:
    """Reliable scheduled jobs for AWS Lambda: EventBridge rules, SQS, DynamoDB run state."""


for command in (local_cmd, validate_cmd, next_cmd, convert_cmd, describe_cmd):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli()

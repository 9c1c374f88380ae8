"""The ``cronbridge`` command.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or input (the message says what
to fix). The operator commands (jobs, enable, disable, trigger, history, dlq, redrive,
backfill, audit, dashboard, invoke) act on the AWS the standard variables select
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL); see ``cronbridge.cli.target``. They are thin
over :mod:`cronbridge.ops`.
"""

from __future__ import annotations

try:
    import click
except ModuleNotFoundError:  # the worker's install has no CLI dependencies
    raise SystemExit("cronbridge: the command needs the cli extra: "
                     "pip install 'cronbridge[cli]'") from None

from cronbridge.cli.audit_cmd import audit_cmd
from cronbridge.cli.backfill_cmd import backfill_cmd
from cronbridge.cli.dashboard_cmd import dashboard_cmd
from cronbridge.cli.dlq_cmds import dlq_cmd, redrive_cmd
from cronbridge.cli.init_cmd import init_cmd
from cronbridge.cli.invoke_cmd import invoke_cmd
from cronbridge.cli.jobs_cmds import (disable_cmd, enable_cmd, history_cmd, jobs_cmd,
                                      trigger_cmd)
from cronbridge.cli.local_cmd import local_cmd
from cronbridge.cli.schedule_cmds import convert_cmd, describe_cmd, next_cmd, validate_cmd
from cronbridge.cli.schedules_cmds import schedules_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cronbridge")
def cli() -> None:
    """Reliable scheduled jobs for AWS Lambda: EventBridge rules, SQS, DynamoDB run state."""


for command in (init_cmd, local_cmd, validate_cmd, next_cmd, convert_cmd, describe_cmd,
                jobs_cmd, enable_cmd, disable_cmd, trigger_cmd, history_cmd, dlq_cmd,
                redrive_cmd, backfill_cmd, audit_cmd, dashboard_cmd, invoke_cmd, schedules_cmd):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli()

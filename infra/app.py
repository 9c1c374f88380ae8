#!/usr/bin/env python3
"""The cronbridge CDK app: `npx aws-cdk synth` / `npx aws-cdk deploy` from this directory.

Environment-agnostic (no account or region lookups), so it synthesizes without AWS
credentials; cdk-nag's AwsSolutions checks run on every synth. Options: docs/deploy.md.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Works from a plain clone: the cronbridge package and these constructs need no install.
sys.path[:0] = [str(HERE.parent / "functions"), str(HERE)]

from aws_cdk import App, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from cronbridge.core.errors import CronbridgeError  # noqa: E402
from demo_stack import CronbridgeStack  # noqa: E402

app = App()
try:
    CronbridgeStack(app, "Cronbridge",
                    description="cronbridge: reliable scheduled jobs for AWS Lambda")
except CronbridgeError as exc:  # a bad job or setting: the message names it
    sys.exit(f"cronbridge: {exc}")
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()

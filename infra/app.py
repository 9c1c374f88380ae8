#!/usr/bin/env python3
"""The cronbridge CDK app: `npx aws-cdk synth` / `npx aws-cdk deploy` from this directory.

Environment-agnostic (no account or region lookups), so it synthesizes without AWS
credentials; cdk-nag's AwsSolutions checks run on every synth. Options: docs/deploy.md.
"""

import sys

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from cronbridge.core.errors import CronbridgeError
from demo_stack import CronbridgeStack

app = App()
try:
    CronbridgeStack(app, "Cronbridge",
                    description="cronbridge: reliable scheduled jobs for AWS Lambda")
except CronbridgeError as exc:  # a bad job or setting: the message names it
    sys.exit(f"cronbridge: {exc}")
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()

"""EventBridge rules: read and set the state of a job's rule (``ENABLED`` / ``DISABLED``).

The rule is half of a job's on/off switch; the other half is the paused flag in the run
table (DESIGN.md §3 "Pause"), which the CLI sets together with it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

ENABLED = "ENABLED"
DISABLED = "DISABLED"


class EventBridgeRules:
    """The job rules on one target.

    Args:
        client: a boto3 ``events`` client.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def state(self, rule_name: str) -> str | None:
        """``ENABLED`` or ``DISABLED``; ``None`` when the rule does not exist.

        Raises:
            botocore.exceptions.ClientError: any other EventBridge error.
        """
        try:
            return self.client.describe_rule(Name=rule_name)["State"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise

    def set_enabled(self, rule_name: str, enabled: bool) -> None:
        """Enable or disable the rule (idempotent: EventBridge accepts either call on a rule
        already in that state).

        Raises:
            botocore.exceptions.ClientError: e.g. ``ResourceNotFoundException``.
        """
        if enabled:
            self.client.enable_rule(Name=rule_name)
        else:
            self.client.disable_rule(Name=rule_name)

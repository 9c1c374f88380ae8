"""CDK constructs for cronbridge: import ``ScheduledJobs`` into any CDK app."""

from cronbridge.cdk.alarms import AlarmTopic
from cronbridge.cdk.asset import LambdaAsset, build_lambda_asset
from cronbridge.cdk.scheduled_jobs import ScheduledJob, ScheduledJobs

__all__ = ["AlarmTopic", "LambdaAsset", "ScheduledJob", "ScheduledJobs", "build_lambda_asset"]

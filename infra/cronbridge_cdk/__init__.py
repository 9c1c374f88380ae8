"""CDK constructs for cronbridge: import ``ScheduledJobs`` into any CDK app."""

from cronbridge_cdk.alarms import AlarmTopic
from cronbridge_cdk.asset import LambdaAsset, build_lambda_asset
from cronbridge_cdk.scheduled_jobs import ScheduledJob, ScheduledJobs

__all__ = ["AlarmTopic", "LambdaAsset", "ScheduledJob", "ScheduledJobs", "build_lambda_asset"]

"""The demo jobs' own AWS resources, and each demo job's permissions on them.

What each job's code calls (``functions/cronbridge_examples/``), and so what it is granted:

=====================  ===============================================================
``log-purge``          S3 ``ListBucket`` (bucket, access-log prefix), ``DeleteObject``
                       (access-log objects)
``daily-aggregation``  S3 ``ListBucket`` (access-log prefix), ``GetObject`` (access-log
                       objects); DynamoDB ``PutItem`` (data table)
``cache-refresh``      SSM ``GetParameter`` (config); DynamoDB ``PutItem`` (data table)
``email-outbox``       DynamoDB ``Query``, ``UpdateItem`` (data table); SES ``SendEmail``
                       (sender identity)
``health-report``      S3 ``ListBucket`` (whole bucket); DynamoDB ``Query``, ``GetItem``
                       (data table); CloudWatch ``PutMetricData`` (namespace
                       ``cronbridge/demo`` only)
=====================  ===============================================================

``tests/infra/test_demo_permissions.py`` runs every job on moto, records the calls it makes
and checks each against its role's policy, both ways: every call allowed, nothing granted
that no call uses.
"""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, Names, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cronbridge.cdk import ScheduledJobs
from cronbridge_examples.resources import (
    ENV_BUCKET,
    ENV_CONFIG_PARAM,
    ENV_SENDER,
    ENV_TABLE,
    LOG_PREFIX,
    METRIC_NAMESPACE,
)
from cronbridge_examples.seed import CONFIG

DEMO_MODULE = "cronbridge_examples"


class DemoData(Construct):
    """The demo's bucket of access logs, data table, config parameter and sender identity,
    encrypted at rest where the service offers it (the parameter is a plain ``String``: the
    config is not secret, and CloudFormation cannot create a ``SecureString``).

    Args:
        app: the resource name prefix: the table is ``<app>-demo-data``, the parameter
            ``/<app>/demo/config``; the bucket's name is CloudFormation's (bucket names are
            global).
        sender: the email address the outbox sends from (SES emails it a verification link
            on deploy; until it is verified, and while the account is in the SES sandbox,
            sends fail and the outbox job retries).
        removal_policy: for the bucket and the table.

    Attributes:
        bucket, table, config, sender: the resources.
        environment: the variables the jobs read the names from (see
            :class:`cronbridge_examples.resources.DemoResources`), for every demo function.
    """

    def __init__(self, scope: Construct, construct_id: str, *, app: str, sender: str,
                 removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self, "Logs", encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=removal_policy)
        Validations.of(self.bucket).acknowledge(Acknowledgment(
            id="AwsSolutions-S1",
            reason="Demo data only (seeded access logs); a second bucket for server access "
                   "logs would double the demo's storage for no reader."))
        self.table = dynamodb.Table(
            self, "Data", table_name=f"{app}-demo-data",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            removal_policy=removal_policy)
        self.config = ssm.StringParameter(
            self, "Config", parameter_name=f"/{app}/demo/config",
            string_value=json.dumps(CONFIG, sort_keys=True),
            description="cronbridge demo: the config cache-refresh copies into the data table")
        self.sender = ses.EmailIdentity(self, "Sender", identity=ses.Identity.email(sender))
        self.environment = {ENV_BUCKET: self.bucket.bucket_name, ENV_TABLE: self.table.table_name,
                            ENV_CONFIG_PARAM: self.config.parameter_name, ENV_SENDER: sender}

    def grant(self, jobs: ScheduledJobs) -> None:
        """Give each demo job in ``jobs`` exactly the permissions its code uses (the table in
        the module docstring), through ``jobs.function(job)`` as any app would.

        Raises:
            KeyError: ``jobs`` lacks one of the demo jobs.
        """
        log_purge, aggregation, cache, outbox, health = (jobs.function(job) for job in (
            "log-purge", "daily-aggregation", "cache-refresh", "email-outbox",
            "health-report"))
        logs = self.bucket.arn_for_objects(f"{LOG_PREFIX}*")
        for function, object_action in ((log_purge, "s3:DeleteObject"),
                                        (aggregation, "s3:GetObject")):
            function.add_to_role_policy(self._list_logs())
            function.add_to_role_policy(iam.PolicyStatement(actions=[object_action],
                                                            resources=[logs]))
            Validations.of(function.role).acknowledge(Acknowledgment(  # type: ignore[arg-type]
                id=f"AwsSolutions-IAM5[Resource::<{self._bucket_arn_parameter()}>/{LOG_PREFIX}*]",
                reason="The job reads or deletes access-log objects by key, so it needs every "
                       "object under the access-log prefix (and nothing outside it)."))
        self.table.grant(aggregation, "dynamodb:PutItem")
        # Not config.grant_read: that adds DescribeParameters, GetParameters and
        # GetParameterHistory, which the job does not call.
        cache.add_to_role_policy(iam.PolicyStatement(
            actions=["ssm:GetParameter"], resources=[self.config.parameter_arn]))
        self.table.grant(cache, "dynamodb:PutItem")
        self.table.grant(outbox, "dynamodb:Query", "dynamodb:UpdateItem")
        self.sender.grant(outbox, "ses:SendEmail")
        health.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]))
        self.table.grant(health, "dynamodb:Query", "dynamodb:GetItem")
        # PutMetricData has no resource-level permissions; the namespace condition confines it.
        health.add_to_role_policy(iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}}))

    def _bucket_arn_parameter(self) -> str:
        # The bucket is in the app's stack and each job in a nested stack, so a job's policy
        # reads the bucket ARN from the parameter CDK adds for that reference (named
        # "referenceto" + the bucket's unique id + the attribute), as cdk-nag's finding does.
        bucket = self.bucket.node.default_child
        assert bucket is not None
        return f"referenceto{Names.node_unique_id(bucket.node)}Arn"

    def _list_logs(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{LOG_PREFIX}*"]}})


"""Create the demo's AWS resources and fill them with deterministic data.

Run against moto (``mock_aws`` or ``AWS_ENDPOINT_URL``) or a sandbox account: clients come
from the default boto3 session, so region and endpoint come from the environment.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from cronbridge import local_resources
from cronbridge_examples.aws import client
from cronbridge_examples.daily_aggregation import MONTHS
from cronbridge_examples.email_outbox import (OUTBOX_PK, PENDING_ATTR, PENDING_INDEX,
                                             is_valid_address, outbox_sk)
from cronbridge_examples.resources import DemoResources, log_key

HOSTS = ("web-1", "web-2", "web-3")
LOG_HISTORY_DAYS = 10
EMAIL_INTERVAL = timedelta(minutes=5)  # email-outbox's rate: one email due per slot
# One email in every 29 five-minute intervals (about one per 2.4 hours) has a bad address.
INVALID_EMAIL_EVERY = 29
CONFIG = {"feature_flags": {"new_checkout": True, "dark_mode": False},
          "rate_limit_per_minute": 120, "banner": "Welcome to the cronbridge demo"}

_STATUSES = (200, 201, 204, 301, 304, 400, 401, 403, 404, 500, 502, 503)
_STATUS_WEIGHTS = (60, 4, 3, 3, 6, 3, 2, 1, 8, 2, 1, 1)
_PATHS = ("/", "/login", "/api/items", "/api/items/42", "/static/app.js", "/health")
_METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE")
_MALFORMED = (
    "",  # stands for "this line, truncated"
    "-- log rotated --",
    '10.0.0.9 - - [31/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12',
    '10.0.0.9 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" OK 12',
    '10.0.0.9 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 999 12',
)
_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
_INVALID_ADDRESSES = ("no-at-sign.example.com", "bob@")


def access_log_lines(day: date, host: str, seed: int = 7) -> list[tuple[str, int | None]]:
    """The seeded access log of ``host`` on ``day``: ``(line, status)`` pairs in time order,
    where status is ``None`` for a deliberately malformed line. 20-60 lines, about 1 in 15
    malformed. Deterministic in ``(day, host, seed)``."""
    rng = random.Random(f"{seed}:log:{day.isoformat()}:{host}")  # str seeds are stable
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    seconds = sorted(rng.randrange(86400) for _ in range(rng.randint(20, 60)))
    lines: list[tuple[str, int | None]] = []
    for second in seconds:
        t = start + timedelta(seconds=second)
        stamp = f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S} +0000"
        status = rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
        size = "-" if status in (204, 304) else str(rng.randint(100, 50000))
        user = rng.choice(("-", "-", "-", rng.choice(_NAMES)))
        line = (f'10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)} - {user} [{stamp}] '
                f'"{rng.choice(_METHODS)} {rng.choice(_PATHS)} HTTP/1.1" {status} {size}')
        if rng.random() < 1 / 15:
            bad = rng.choice(_MALFORMED) or line[: rng.randint(10, len(line) - 8)]
            lines.append((bad, None))
        else:
            lines.append((line, status))
    return lines


def _emails(start: datetime, end: datetime, seed: int) -> list[tuple[datetime, str, str]]:
    """(due, id, recipient): one email due in each 5-minute interval from one interval
    before ``start`` to ``end``, on a fixed grid so reseeding another window agrees."""
    step = int(EMAIL_INTERVAL.total_seconds())
    first = (int(start.timestamp()) // step - 1) * step
    emails = []
    for bucket_start in range(first, int(end.timestamp()), step):
        rng = random.Random(f"{seed}:email:{bucket_start}")
        due = datetime.fromtimestamp(bucket_start + rng.randrange(step), timezone.utc)
        n = bucket_start // step
        to = (rng.choice(_INVALID_ADDRESSES) if n % INVALID_EMAIL_EVERY == 0
              else f"{rng.choice(_NAMES)}{n % 100}@example.com")
        emails.append((due, f"m{n}", to))
    return emails


def create_resources(res: DemoResources) -> None:
    """Create the bucket, table, config parameter and SES identity; existing ones are kept."""
    s3 = client("s3")
    region = s3.meta.region_name
    try:
        s3.create_bucket(Bucket=res.bucket, **(
            {} if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",):
            raise
    ddb = client("dynamodb")
    try:
        ddb.create_table(
            TableName=res.table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"},
                                  {"AttributeName": PENDING_ATTR, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{
                "IndexName": PENDING_INDEX, "Projection": {"ProjectionType": "KEYS_ONLY"},
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                              {"AttributeName": PENDING_ATTR, "KeyType": "RANGE"}]}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    ddb.get_waiter("table_exists").wait(TableName=res.table,
                                        WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    try:
        client("ssm").put_parameter(Name=res.config_param, Type="String",
                                    Value=json.dumps(CONFIG), Overwrite=False)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ParameterAlreadyExists":
            raise
    client("ses").verify_email_identity(EmailAddress=res.sender)


@local_resources
def seed_demo(start: datetime, end: datetime, *, seed: int = 7) -> dict[str, Any]:
    """Create the demo resources and seed data for a run over ``[start, end)`` (aware UTC).

    Local mode and the testing helpers call it as the demo's ``@local_resources`` hook.

    Seeds access logs for every day from ``start - 10 days`` to ``end``'s day (one object per
    host per day, see :func:`access_log_lines`) and one outbox email due in each 5-minute
    interval of the window (plus one just before it), some with invalid recipients.
    Idempotent: objects are rewritten with the same bytes, existing emails (maybe already
    SENT) and the config parameter are left alone. Everything is deterministic in ``seed``.

    Returns counts: ``{"bucket", "table", "log_objects", "log_lines", "malformed_lines",
    "emails", "invalid_emails"}``.
    """
    if start.tzinfo is None or end.tzinfo is None or end < start:
        raise ValueError("start and end must be aware datetimes with start <= end")
    res = DemoResources.from_env()
    create_resources(res)
    s3, ddb = client("s3"), client("dynamodb")
    objects = total_lines = malformed = 0
    day, last = (start - timedelta(days=LOG_HISTORY_DAYS)).date(), end.date()
    while day <= last:
        for host in HOSTS:
            lines = access_log_lines(day, host, seed)
            body = "".join(f"{line}\n" for line, _ in lines).encode()
            s3.put_object(Bucket=res.bucket, Key=log_key(day.isoformat(), host), Body=body,
                          ContentType="text/plain")
            objects += 1
            total_lines += len(lines)
            malformed += sum(status is None for _, status in lines)
        day += timedelta(days=1)
    emails = _emails(start, end, seed)
    for due, message_id, to in emails:
        sk = outbox_sk(due, message_id)
        try:
            ddb.put_item(
                TableName=res.table, ConditionExpression="attribute_not_exists(pk)",
                Item={"pk": {"S": OUTBOX_PK}, "sk": {"S": sk}, PENDING_ATTR: {"S": sk},
                      "status": {"S": "PENDING"}, "to": {"S": to},
                      "subject": {"S": f"Your cronbridge digest ({message_id})"},
                      "body": {"S": f"Hello {to.split('@')[0]}, here is your digest."},
                      "due_at": {"S": due.strftime("%Y-%m-%dT%H:%M:%SZ")}})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    return {"bucket": res.bucket, "table": res.table, "log_objects": objects,
            "log_lines": total_lines, "malformed_lines": malformed, "emails": len(emails),
            "invalid_emails": sum(not is_valid_address(to) for _, _, to in emails)}

"""The operations layer: what an operator can see and do, as plain data.

The ``cronbridge`` commands and the dashboard are thin over it. Every function takes a
:class:`~cronbridge.ops.backend.Backend` (the AWS the operator acts on, and the deployment
plan's names there) and returns dicts and lists of JSON-ready values: instants ISO-8601 UTC
(``2026-11-30T02:00:05Z``), durations in the unit their key names. Business rules live here
(pause before disabling the rule, the alarm actions follow the switch, which dead letters a
redrive leaves out), never in a front end.

Errors: :class:`~cronbridge.ops.errors.InvalidRequest` and
:class:`~cronbridge.core.errors.UnknownJobError` are bad input (the CLI's exit 2);
:class:`~cronbridge.ops.errors.OperationError` and SDK errors mean the target could not do
it (exit 1).
"""

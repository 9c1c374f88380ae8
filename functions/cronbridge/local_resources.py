"""``@local_resources``: how a project creates its own AWS resources for local mode.

A job that reads a bucket or writes its own table needs them on the embedded AWS too. The
CDK app creates them in the cloud; locally, a hook does::

    import boto3
    from cronbridge import local_resources

    @local_resources
    def create_tables(start, end):
        boto3.client("dynamodb").create_table(TableName="orders", ...)

``cronbridge local --simulate`` and ``--serve`` and the testing helpers
(``cronbridge.testing``) call every hook defined in the project's job modules (or their
submodules) once the embedded AWS is up and the run table, queues and rules exist, and
before the first slot fires. ``start`` and ``end`` (aware UTC datetimes) bound the window
about to run, so a hook can also seed data for it. A hook may be called more than once on
the same embedded AWS (the testing helpers call it again for a slot outside the windows it
has seen), so it must be idempotent: keep what already exists.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from datetime import datetime

from cronbridge.core.errors import CronbridgeError

LocalResourcesHook = Callable[[datetime, datetime], object]

_HOOKS: list[LocalResourcesHook] = []


class LocalResourcesError(CronbridgeError, TypeError):
    """A hook cannot be called as ``hook(start, end)``, or it raised."""


def local_resources(func: LocalResourcesHook) -> LocalResourcesHook:
    """Register ``func(start, end)`` as a local-resources hook (returns it unchanged).

    Args:
        func: called with the window's start and end (aware UTC datetimes, end exclusive);
            its return value is ignored.

    Raises:
        LocalResourcesError: ``func`` cannot be called with two positional arguments.
    """
    try:
        inspect.signature(func).bind(None, None)
    except (TypeError, ValueError):
        raise LocalResourcesError(f"@local_resources hook {_name(func)} must accept "
                                  "(start, end)") from None
    if func not in _HOOKS:
        _HOOKS.append(func)
    return func


def hooks_in(modules: Iterable[str]) -> list[LocalResourcesHook]:
    """The registered hooks defined in ``modules`` or their submodules, in definition order
    (other code in the same process may have registered its own)."""
    from cronbridge.project import defined_in

    modules = tuple(modules)
    return [hook for hook in _HOOKS if defined_in(hook, modules)]


def run_local_resources(modules: Iterable[str], start: datetime, end: datetime) -> None:
    """Call the hooks of ``modules`` (already imported) for the window ``[start, end)``.

    Raises:
        LocalResourcesError: a hook raised; the message names it and the error, the cause is
            chained.
    """
    for hook in hooks_in(modules):
        try:
            hook(start, end)
        except Exception as exc:  # noqa: BLE001 - user code: say which hook failed
            raise LocalResourcesError(f"@local_resources hook {_name(hook)} failed: "
                                      f"{type(exc).__name__}: {exc}") from exc


def _name(func: Callable[..., object]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"

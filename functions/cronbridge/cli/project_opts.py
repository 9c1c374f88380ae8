"""The project the commands act for: ``[tool.cronbridge]``, overridden by the environment and
by ``--app`` / ``--jobs-module`` (see :mod:`cronbridge.project`).

Every mistake in the project (no configuration, an unimportable module, an invalid job) is
one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from cronbridge.core.errors import CronbridgeError
from cronbridge.core.jobs import JobRegistry
from cronbridge.project import ENV_APP, ENV_JOB_MODULES, Project, load_project

F = TypeVar("F", bound=Callable[..., Any])


class BadInput(click.ClickException):
    """Bad usage or input, printed as one ``Error: ...`` line (exit status 2), without the
    usage banner that :class:`click.UsageError` adds."""

    exit_code = 2


def resolve_project(app: str | None = None, modules: Iterable[str] = ()) -> Project:
    """The project from the flags, the environment and ``pyproject.toml``.

    Raises:
        BadInput: no job modules are configured, or the configuration is malformed.
    """
    try:
        return load_project(app=app, job_modules=modules)
    except CronbridgeError as exc:
        raise BadInput(str(exc)) from None


def project_jobs(project: Project) -> JobRegistry:
    """Import the project's job modules and return their jobs.

    Raises:
        BadInput: a module cannot be imported or a job is invalid (the message names it).
    """
    try:
        return project.load_jobs()
    except CronbridgeError as exc:
        raise BadInput(str(exc)) from None


app_option = click.option("--app", metavar="NAME",
                          help=f"Resource name prefix (env {ENV_APP}; default: [tool.cronbridge] "
                               "app in pyproject.toml, else cronbridge).")
modules_option = click.option("--jobs-module", "modules", multiple=True, metavar="MODULE",
                              help=f"Module(s) defining the jobs (env {ENV_JOB_MODULES}, comma "
                                   "separated; default: [tool.cronbridge] jobs in "
                                   "pyproject.toml).")


def project_options(func: F) -> F:
    """Add ``--app`` and ``--jobs-module`` and pass the resolved :class:`Project` as
    ``project``."""

    @app_option
    @modules_option
    @functools.wraps(func)
    def wrapper(app: str | None, modules: tuple[str, ...], **kwargs: Any) -> Any:
        return func(project=resolve_project(app, modules), **kwargs)

    return wrapper  # type: ignore[return-value]

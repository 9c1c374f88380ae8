"""Project configuration: ``[tool.cronbridge]`` in the project's ``pyproject.toml``.

Every entry point reads it the same way: the CLI (schedule commands included), local mode,
the testing helpers and the CDK construct. A project looks like::

    [tool.cronbridge]
    app = "billing"                  # resource-name prefix (default "cronbridge")
    jobs = ["billing.jobs"]          # modules that define the jobs (required)
    python_paths = ["src"]           # import roots, relative to pyproject.toml (default ".")
    requirements = "requirements.txt"  # the Lambda asset's dependency list
                                     # (default: [project].dependencies)

Precedence, highest first: a command-line flag (``--app``, ``--jobs-module``), the
environment (``CRONBRIDGE_APP``, ``CRONBRIDGE_JOB_MODULES``), then ``pyproject.toml``. The
project is the nearest ``pyproject.toml`` with a ``[tool.cronbridge]`` table at or above the
working directory, or the directory ``CRONBRIDGE_PROJECT`` names.
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cronbridge.core.errors import CronbridgeError
from cronbridge.core.jobs import JobRegistry, default_registry
from cronbridge.core.plan import DEFAULT_APP
from cronbridge.runtime.settings import ENV_APP, ENV_JOB_MODULES

ENV_PROJECT = "CRONBRIDGE_PROJECT"
TABLE = "tool.cronbridge"
KEYS = ("app", "jobs", "python_paths", "requirements")
ADD_CONFIG_HINT = (f'add [{TABLE}] with jobs = ["your_package.jobs"] to your pyproject.toml '
                   f"(or run `cronbridge init`), pass --jobs-module, or set {ENV_JOB_MODULES}")


class ProjectConfigError(CronbridgeError, ValueError):
    """The project configuration is missing or invalid; the message says what to add."""


class JobModuleError(CronbridgeError, ImportError):
    """A job module cannot be imported; the message names it and the cause."""


@dataclass(frozen=True)
class Project:
    """A cronbridge project's settings, resolved.

    Attributes:
        root: the directory holding ``pyproject.toml``, or ``None`` when there is none (all
            settings came from flags or the environment).
        app: prefix of every AWS resource name.
        job_modules: modules that define the jobs, in order.
        python_paths: absolute import roots, added to ``sys.path`` by :meth:`load_jobs`.
        requirements: a requirements or lock file for the Lambda asset, or ``None`` to use
            ``[project].dependencies``.
        pyproject: the ``pyproject.toml`` read, or ``None``.
    """

    root: Path | None
    app: str
    job_modules: tuple[str, ...]
    python_paths: tuple[Path, ...]
    requirements: Path | None
    pyproject: Path | None

    def load_jobs(self) -> JobRegistry:
        """Import the job modules and return the jobs they define (only theirs: the
        process-wide registry may hold jobs of other code in the same process).

        Raises:
            JobModuleError: a module cannot be imported.
            JobDefinitionError: a job is invalid (raised by ``@job`` during the import).
        """
        for path in reversed(self.python_paths):
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        for module in self.job_modules:
            import_job_module(module)
        registry = JobRegistry()
        for spec in default_registry():
            if defined_in(spec.func, self.job_modules):
                registry.add(spec)
        return registry


def defined_in(func: Any, modules: Iterable[str]) -> bool:
    """True when ``func`` is defined in one of ``modules`` or a submodule of one."""
    name = getattr(func, "__module__", "") or ""
    return any(name == m or name.startswith(f"{m}.") for m in modules)


def import_job_module(module: str) -> None:
    """Import ``module``.

    Raises:
        JobModuleError: it (or something it imports) cannot be imported; the message says
            which and why, in one line.
    """
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or str(exc)
        where = ("" if missing == module else f" (it imports {missing!r}, which is not "
                 "installed or not on the path)")
        raise JobModuleError(f"cannot import job module {module!r}{where}: check "
                             f"[{TABLE}] jobs / python_paths, --jobs-module or "
                             f"{ENV_JOB_MODULES}") from None
    except SyntaxError as exc:
        raise JobModuleError(f"job module {module!r} has a syntax error at "
                             f"{exc.filename}:{exc.lineno}: {exc.msg}") from None
    except CronbridgeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import-time failure of user code
        raise JobModuleError(f"importing job module {module!r} failed: "
                             f"{type(exc).__name__}: {exc}") from None


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.cronbridge]`` table at or above
    ``start``, or ``None``."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "cronbridge" in _read(candidate).get("tool", {}):
            return candidate
    return None


def load_project(*, app: str | None = None, job_modules: Iterable[str] = (),
                 start: Path | None = None,
                 environ: Mapping[str, str] | None = None,
                 require_jobs: bool = True) -> Project:
    """Resolve the project's settings from flags, the environment and ``pyproject.toml``.

    Args:
        app / job_modules: command-line values; empty means "not given".
        start: where to look for ``pyproject.toml`` (default: the working directory).
        environ: the environment (default ``os.environ``).
        require_jobs: raise when no job modules are configured anywhere.

    Raises:
        ProjectConfigError: ``[tool.cronbridge]`` is malformed, ``CRONBRIDGE_PROJECT`` names
            no project, or (with ``require_jobs``) no job modules are configured.
    """
    env = os.environ if environ is None else environ
    pyproject = _locate(env, start)
    config: dict[str, Any] = {}
    if pyproject is not None:
        config = _read(pyproject).get("tool", {}).get("cronbridge", {})
        _check(config, pyproject)
    root = pyproject.parent if pyproject is not None else None
    modules = (_modules(job_modules) or _modules((env.get(ENV_JOB_MODULES) or "").split(","))
               or tuple(config.get("jobs", ())))
    if require_jobs and not modules:
        where = f"{pyproject} has no jobs" if pyproject else "no cronbridge project found"
        raise ProjectConfigError(f"{where}: {ADD_CONFIG_HINT}")
    base = root or (start or Path.cwd())
    paths = tuple((base / p).resolve() for p in config.get("python_paths", ["."]))
    requirements = config.get("requirements")
    return Project(root=root, app=app or env.get(ENV_APP) or config.get("app") or DEFAULT_APP,
                   job_modules=modules, python_paths=paths,
                   requirements=(base / requirements).resolve() if requirements else None,
                   pyproject=pyproject)


def _locate(env: Mapping[str, str], start: Path | None) -> Path | None:
    named = env.get(ENV_PROJECT)
    if not named:
        return find_pyproject((start or Path.cwd()).resolve())
    path = Path(named).resolve()
    candidate = path if path.name == "pyproject.toml" else path / "pyproject.toml"
    if not candidate.is_file():
        raise ProjectConfigError(f"{ENV_PROJECT}={named}: no pyproject.toml there")
    return candidate


def _read(pyproject: Path) -> dict[str, Any]:
    try:
        with pyproject.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectConfigError(f"{pyproject} is not valid TOML: {exc}") from None


def _check(config: Any, pyproject: Path) -> None:
    where = f"{pyproject} [{TABLE}]"
    if not isinstance(config, dict):
        raise ProjectConfigError(f"{where} must be a table")
    unknown = sorted(set(config) - set(KEYS))
    if unknown:
        import difflib

        hints = [f"{k!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, KEYS, 1))
                 else repr(k) for k in unknown]
        raise ProjectConfigError(f"{where}: unknown key {', '.join(hints)}; keys are "
                                 f"{', '.join(KEYS)}")
    for key, kind in (("jobs", list), ("python_paths", list), ("app", str),
                      ("requirements", str)):
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is list and not all(
                isinstance(v, str) and v for v in value)):
            shape = "a list of strings" if kind is list else "a string"
            raise ProjectConfigError(f"{where}: {key} must be {shape}, got {value!r}")


def _modules(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values if v and v.strip())

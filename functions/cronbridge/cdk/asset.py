"""Build the one Lambda asset every job function shares, on the host, without Docker.

What goes in:

* the ``cronbridge`` package, without the parts only a developer's machine runs (the CLI,
  local mode, the CDK construct, the testing helpers);
* the project's own packages (the top-level package of every job module);
* the worker's dependencies (``cronbridge``'s own requirements, without extras) and the
  project's runtime dependencies (``[project].dependencies`` of its ``pyproject.toml``, or
  a requirements/lock file), installed with pip as binary wheels for the Lambda platform.
  boto3, botocore and botocore's own dependencies come from the Lambda runtime unless
  ``bundle_aws_sdk`` is set (for teams that pin SDK versions): they are over half of the
  unzipped size. Powertools' parts the worker does not use are left out unless the project
  requires Powertools itself.

Everything is compiled to bytecode for the runtime's Python version with
``--invalidation-mode unchecked-hash``, so no cold start compiles source and the bytes do not
depend on file times. The asset hash covers the target, the requirement lists and every
source file, so the same inputs give the same hash; nothing here reads the clock. The
dependency install is cached under ``<project>/.cronbridge/build/`` by a hash of its inputs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PIP_PLATFORM = "manylinux2014_aarch64"  # arm64 (Graviton) functions
# Python versions with a Lambda runtime:
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
LAMBDA_PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
# The host's Python by default: bytecode must be compiled by the runtime's own version.
DEFAULT_PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
CORE_PACKAGE = "cronbridge"
# Parts of cronbridge the worker never imports (and whose imports are not bundled): the
# construct, the CLI, the dashboard, local mode, the pytest plugin and `cronbridge init`'s
# templates.
DEVELOPER_ONLY = ("cdk", "cli", "dashboard", "local", "testing.py", "templates")
# In every Python runtime of Lambda (the SDK and what botocore needs); bundled only with
# bundle_aws_sdk.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3",
               "six")
# Parts of cronbridge's own dependencies that the worker never imports, pruned unless the
# project requires that distribution itself (then its code may use any of it). Powertools'
# event handler and most utilities are 40 % of the zipped asset.
POWERTOOLS = "aws-lambda-powertools"
POWERTOOLS_UTILITIES_KEPT = ("batch", "data_classes", "jmespath_utils", "typing")
ASSETS_KEPT = 4
DEPENDENCY_SETS_KEPT = 2
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class AssetBuildError(RuntimeError):
    """The asset could not be built (pip failed, a package or interpreter was not found)."""


@dataclass(frozen=True)
class LambdaAsset:
    """A built asset directory and the content hash CDK uses as its identity.

    Attributes:
        path: directory with the packages and their dependencies at its root.
        asset_hash: hex digest of the target, the requirements and every source file.
        python_version: the Lambda runtime the bytecode and wheels are for, e.g. ``"3.11"``.
    """

    path: Path
    asset_hash: str
    python_version: str = DEFAULT_PYTHON_VERSION


def runtime_dependencies(pyproject: Path) -> list[str]:
    """The requirement strings of ``[project].dependencies`` in ``pyproject`` (``[]`` when
    it has none, or when the project is cronbridge itself: those are the worker's)."""
    with pyproject.open("rb") as handle:
        project = tomllib.load(handle).get("project", {})
    if requirement_name(project.get("name", "")) == CORE_PACKAGE:
        return []
    return list(project.get("dependencies", []))


def worker_dependencies() -> list[str]:
    """cronbridge's own requirements without extras (the CLI, local mode and CDK extras are
    not the worker's)."""
    return [r for r in importlib.metadata.requires(CORE_PACKAGE) or [] if "extra ==" not in r]


def requirement_name(requirement: str) -> str:
    """The canonical (PEP 503) project name of a requirement line, ``""`` for none."""
    match = _NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def package_dir(module: str) -> Path:
    """The directory of ``module``'s top-level package.

    Raises:
        AssetBuildError: the package cannot be found on ``sys.path`` or is a single module.
    """
    top = module.split(".", 1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise AssetBuildError(f"job module {module!r}: package {top!r} is not importable as a "
                              "directory package; the Lambda asset copies whole packages")
    return Path(next(iter(spec.submodule_search_locations)))


def build_lambda_asset(job_modules: Iterable[str], *, build_dir: Path,
                       requirements: Sequence[str] = (),
                       requirements_file: Path | None = None,
                       python_version: str = DEFAULT_PYTHON_VERSION,
                       bundle_aws_sdk: bool = False) -> LambdaAsset:
    """Build (or reuse) the asset for the job modules' packages.

    Args:
        job_modules: modules defining the jobs; their top-level packages are copied in.
        build_dir: where the asset and the dependency cache are kept.
        requirements: the project's runtime requirements (pip syntax); a requirement on
            cronbridge itself is dropped, the installed cronbridge is copied instead.
        requirements_file: a requirements or lock file used in place of ``requirements``.
        python_version: the Lambda runtime's Python, ``"3.10"``-``"3.14"``; bytecode is
            compiled by that interpreter (``python3.X`` on ``PATH`` unless it is this one).
        bundle_aws_sdk: also ship boto3/botocore/s3transfer instead of the runtime's.

    Raises:
        AssetBuildError: pip failed (its output is in the message), a package or the
            interpreter is missing, or ``python_version`` has no Lambda runtime.
    """
    if python_version not in LAMBDA_PYTHON_VERSIONS:
        raise AssetBuildError(f"python_version {python_version!r} has no Lambda runtime; "
                              f"use one of {', '.join(LAMBDA_PYTHON_VERSIONS)}")
    interpreter = _interpreter(python_version)
    own = _project_requirements(requirements, requirements_file)
    prune = POWERTOOLS not in {requirement_name(r) for r in own}
    deps = _dependencies_dir([*worker_dependencies(), *own], python_version, bundle_aws_sdk,
                             prune, build_dir, interpreter)
    packages = sorted({package_dir(m) for m in (CORE_PACKAGE, *job_modules)})
    digest = hashlib.sha256(deps.name.encode())
    sources = {package: _source_files(package) for package in packages}
    for package, files in sources.items():
        for file in files:
            digest.update(f"{package.name}/{file.relative_to(package)}".encode())
            digest.update(file.read_bytes())
    asset_hash = digest.hexdigest()
    target = build_dir / f"asset-{asset_hash[:16]}"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=".asset-", dir=build_dir))
        # Hard links keep a rebuild after a source edit cheap: the dependencies (and their
        # bytecode) are linked from the cache, not copied.
        shutil.copytree(deps, staging, dirs_exist_ok=True, copy_function=_link_or_copy)
        for package, files in sources.items():
            for file in files:
                dest = staging / package.name / file.relative_to(package)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, dest)
        _compile(interpreter, staging, [staging / p.name for p in packages])
        _publish(staging, target)
        _prune(build_dir, "asset-", keep=ASSETS_KEPT)
    return LambdaAsset(path=target, asset_hash=asset_hash, python_version=python_version)


def _project_requirements(requirements: Sequence[str],
                          requirements_file: Path | None) -> list[str]:
    if requirements_file is None:
        lines = list(requirements)
    else:
        try:
            lines = requirements_file.read_text().splitlines()
        except OSError as exc:
            raise AssetBuildError(f"cannot read the requirements file: {exc}") from None
    # The installed cronbridge is copied in, so a dependency on it (often a path or a
    # version pip cannot find for the Lambda platform) must not reach pip.
    kept = [line.split(" #", 1)[0].strip() for line in lines
            if requirement_name(line) != CORE_PACKAGE and line.strip()
            and not line.lstrip().startswith("#")]
    return [line for line in kept if line]


def _interpreter(version: str) -> str:
    if version == DEFAULT_PYTHON_VERSION:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise AssetBuildError(f"bytecode for the python{version} runtime needs a python{version} "
                              f"interpreter on PATH; install it, or deploy on "
                              f"python_version={DEFAULT_PYTHON_VERSION!r} (this interpreter)")
    return found


def _dependencies_dir(requirements: list[str], python_version: str, bundle_aws_sdk: bool,
                      prune: bool, build_dir: Path, interpreter: str) -> Path:
    key = hashlib.sha256("\n".join(
        [python_version, PIP_PLATFORM, f"sdk={bundle_aws_sdk}", f"prune={prune}",
         *sorted(requirements)]).encode()).hexdigest()
    target = build_dir / f"deps-{key[:16]}"
    if target.exists():
        return target
    build_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".deps-", dir=build_dir))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
        "--disable-pip-version-check", "--platform", PIP_PLATFORM, "--only-binary=:all:",
        "--python-version", python_version, "--implementation", "cp",
        "--target", str(staging), *requirements,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise AssetBuildError(f"pip could not install the Lambda dependencies "
                              f"({' '.join(command)}):\n{result.stderr or result.stdout}")
    if not bundle_aws_sdk:
        _remove_distributions(staging, RUNTIME_SDK)
    if prune:
        _prune_powertools(staging / "aws_lambda_powertools")
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: nothing runs them
    _compile(interpreter, staging, [staging])
    _publish(staging, target)
    # Assets hard-link their files, so removing an old dependency set breaks none of them.
    _prune(build_dir, "deps-", keep=DEPENDENCY_SETS_KEPT)
    return target


def _remove_distributions(site: Path, names: Iterable[str]) -> None:
    wanted = {requirement_name(n) for n in names}
    for info in sorted(site.glob("*.dist-info")):
        dist = importlib.metadata.PathDistribution(info)
        if requirement_name(dist.metadata["Name"] or "") not in wanted:
            continue
        # RECORD lists the files; their top-level directories go too (left empty otherwise).
        tops = {Path(str(file)).parts[0] for file in dist.files or []} - {"..", "."}
        for top in tops:
            path = site / top
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(
                missing_ok=True)


def _prune_powertools(package: Path) -> None:
    shutil.rmtree(package / "event_handler", ignore_errors=True)
    for utility in (package / "utilities").iterdir():
        if utility.is_dir() and utility.name not in (*POWERTOOLS_UTILITIES_KEPT, "__pycache__"):
            shutil.rmtree(utility)


def _compile(interpreter: str, root: Path, paths: list[Path]) -> None:
    # unchecked-hash: the .pyc is used without comparing source times (Lambda's files all
    # carry one time anyway) and holds no time itself; -s/-p record /var/task paths, not
    # the build directory's, so the bytes are the same on every machine.
    command = [interpreter, "-m", "compileall", "-q", "-j", "0",
               "--invalidation-mode", "unchecked-hash", "-s", str(root), "-p", "/var/task",
               *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssetBuildError(f"compiling the asset's bytecode failed ({' '.join(command)}):\n"
                              f"{result.stdout}{result.stderr}")


def _publish(staging: Path, target: Path) -> None:
    staging.chmod(0o755)  # mkdtemp makes it 0700; Lambda reads the files as another user
    # Rename is atomic: concurrent builds (pytest-xdist workers, a parallel synth) either
    # win or find an identical directory already in place.
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.exists():
            raise


def _prune(build_dir: Path, prefix: str, keep: int) -> None:
    # Every source edit makes a new asset directory; keep the most recent few so a
    # concurrent synth of a slightly older tree still finds its own.
    built = sorted(build_dir.glob(f"{prefix}*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in built[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _source_files(package: Path) -> list[Path]:
    skip = ({package / sub for sub in DEVELOPER_ONLY} if package.name == CORE_PACKAGE
            else set())
    return sorted(p for p in package.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo")
                  and not any(s == p or s in p.parents for s in skip))

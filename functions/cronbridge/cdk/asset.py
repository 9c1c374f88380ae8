"""Build the one Lambda asset every job function shares, on the host, without Docker.

The runtime dependencies come from ``[project].dependencies`` in ``pyproject.toml`` (the
single source) and are installed with pip as binary wheels for the Lambda platform and
architecture. The dependency install is cached under ``.cronbridge/build/`` keyed by a hash
of the dependency list and target, so repeated synths and test runs only copy sources.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = REPO_ROOT / "pyproject.toml"
BUILD_DIR = REPO_ROOT / ".cronbridge" / "build"

# The Lambda runtime and the wheels' ABI must agree; the CDK stack reads both from here.
LAMBDA_PYTHON_VERSION = "3.14"
PIP_PLATFORM = "manylinux2014_aarch64"  # arm64 (Graviton) functions
CORE_PACKAGE = "cronbridge"
ASSETS_KEPT = 4
DEPENDENCY_SETS_KEPT = 2
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


class AssetBuildError(RuntimeError):
    """The asset could not be built (pip failed or a package was not found)."""


@dataclass(frozen=True)
class LambdaAsset:
    """A built asset directory and the content hash CDK uses as its identity.

    Attributes:
        path: directory with the packages and their dependencies at its root.
        asset_hash: hex digest of the dependency set and every source file copied in.
    """

    path: Path
    asset_hash: str


def runtime_dependencies(pyproject: Path = PYPROJECT) -> list[str]:
    """The requirement strings of ``[project].dependencies`` in ``pyproject``."""
    with pyproject.open("rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


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


def build_lambda_asset(job_modules: Iterable[str], *, build_dir: Path = BUILD_DIR,
                       pyproject: Path = PYPROJECT) -> LambdaAsset:
    """Build (or reuse) the asset holding ``cronbridge``, the job modules' packages and the
    runtime dependencies.

    Raises:
        AssetBuildError: pip failed (its output is in the message) or a package is missing.
    """
    requirements = runtime_dependencies(pyproject)
    deps = _dependencies_dir(requirements, build_dir)
    packages = sorted({package_dir(m) for m in (CORE_PACKAGE, *job_modules)})
    digest = hashlib.sha256(deps.name.encode())
    for package in packages:
        for file in sorted(_source_files(package)):
            digest.update(f"{package.name}/{file.relative_to(package)}".encode())
            digest.update(file.read_bytes())
    asset_hash = digest.hexdigest()
    target = build_dir / f"asset-{asset_hash[:16]}"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=".asset-", dir=build_dir))
        # Hard links keep a rebuild after a source edit cheap: the dependencies (~50 MB)
        # are linked from the cache, not copied.
        shutil.copytree(deps, staging, dirs_exist_ok=True, copy_function=_link_or_copy)
        for package in packages:
            shutil.copytree(package, staging / package.name, ignore=_SKIP)
        _publish(staging, target)
        _prune(build_dir, "asset-", keep=ASSETS_KEPT)
    return LambdaAsset(path=target, asset_hash=asset_hash)


def _dependencies_dir(requirements: list[str], build_dir: Path) -> Path:
    key = hashlib.sha256("\n".join(
        [LAMBDA_PYTHON_VERSION, PIP_PLATFORM, *sorted(requirements)]).encode()).hexdigest()
    target = build_dir / f"deps-{key[:16]}"
    if target.exists():
        return target
    build_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".deps-", dir=build_dir))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
        "--disable-pip-version-check", "--platform", PIP_PLATFORM, "--only-binary=:all:",
        "--python-version", LAMBDA_PYTHON_VERSION, "--implementation", "cp",
        "--target", str(staging), *requirements,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise AssetBuildError(f"pip could not install the Lambda dependencies "
                              f"({' '.join(command)}):\n{result.stderr or result.stdout}")
    _publish(staging, target)
    # Assets hard-link their files, so removing an old dependency set breaks none of them.
    _prune(build_dir, "deps-", keep=DEPENDENCY_SETS_KEPT)
    return target


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
    return [p for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")]

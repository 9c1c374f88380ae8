"""``cronbridge init [DIR]``: scaffold a new project that depends on cronbridge.

The files come from the package data under ``cronbridge/templates/project`` (``$name``
placeholders, :class:`string.Template`); a ``PACKAGE`` directory takes the project's package
name and ``gitignore`` becomes ``.gitignore``.
"""

from __future__ import annotations

import re
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

import click

TEMPLATE_SUFFIX = ".tmpl"
# App names prefix every resource name (e.g. "<app>-<job>-dlq", a 40-character job name):
# 20 keeps each inside its AWS limit.
APP_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")
RENAMED = {"gitignore": ".gitignore"}


class BadInput(click.ClickException):
    """Bad usage or input: one line, exit status 2."""

    exit_code = 2


def names_for(directory: Path, app: str | None) -> dict[str, str]:
    """The template values for a project in ``directory``.

    Raises:
        BadInput: the directory name gives no Python package name, or ``app`` is invalid.
    """
    base = directory.resolve().name
    package = re.sub(r"[^a-z0-9]+", "_", base.lower()).strip("_")
    if not package.isidentifier() or package[0].isdigit():
        raise BadInput(f"{base!r} gives no Python package name: name the directory with a "
                       "letter first, e.g. my-jobs")
    app = app or re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:20].rstrip("-")
    if not APP_PATTERN.match(app):
        raise BadInput(f"app name {app!r} must be 2-20 lowercase letters, digits or hyphens, "
                       "starting with a letter: pass --app NAME")
    stack = "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", app) if part)
    return {"name": base, "package": package, "app": app, "stack": stack,
            "cronbridge_version": metadata.version("cronbridge")}


def render(template: Traversable, target: Path, values: dict[str, str]) -> list[Path]:
    """Write every file under ``template`` into ``target``; returns the paths written."""
    written: list[Path] = []
    for entry in sorted(template.iterdir(), key=lambda e: e.name):
        name = entry.name.removesuffix(TEMPLATE_SUFFIX)
        name = values["package"] if name == "PACKAGE" else RENAMED.get(name, name)
        path = target / name
        if entry.is_dir():
            written += render(entry, path, values)
        elif entry.name.endswith(TEMPLATE_SUFFIX):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(Template(entry.read_text()).substitute(values))
            written.append(path)
    return written


@click.command("init")
@click.argument("directory", required=False, default=".",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--app", metavar="NAME",
              help="Prefix of every AWS resource name (default: from the directory name).")
def init_cmd(directory: Path, app: str | None) -> None:
    """Scaffold a cronbridge project in DIRECTORY (default: here; new or empty).

    Writes pyproject.toml (depending on cronbridge, with [tool.cronbridge]), a jobs module
    with one example job and its @local_resources hook, tests using cronbridge's pytest
    fixtures, infra/app.py and infra/cdk.json for `npx aws-cdk synth`, and a README with the
    commands to test, run locally and deploy.
    """
    if directory.exists() and any(directory.iterdir()):
        raise BadInput(f"{directory} is not empty: give a new or empty directory")
    values = names_for(directory, app)
    written = render(resources.files("cronbridge") / "templates" / "project", directory,
                     values)
    shown = directory if directory != Path(".") else Path.cwd()
    click.echo(f"created cronbridge project {values['name']!r} (app {values['app']!r}) in "
               f"{shown}: {len(written)} files")
    click.echo("next: see its README.md (set up a venv, pip install -e '.[dev]', pytest, "
               "cronbridge local --simulate 2h)")

"""Helpers for the infra tests: import paths and a synthesized-app wrapper.

A module with a unique name, so test modules can import it without clashing with the other
test directories' conftest modules.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT / "functions", ROOT / "infra"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
# Node's end-of-life banner on every jsii start is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,21")

from aws_cdk import App, NestedStack, Validations  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from demo_stack import CronbridgeStack  # noqa: E402

ALARM_EMAIL = "ops@example.com"


@dataclass
class Synthesized:
    """A synthesized app: the stack, its nested stacks' templates and the nag outcome."""

    app: App
    stack: CronbridgeStack
    outdir: Path
    nag_error: str | None

    def template(self, stack: NestedStack | CronbridgeStack | None = None) -> Template:
        if self.nag_error is not None:
            pytest.fail(f"synth failed: {self.nag_error}")
        target = stack or self.stack
        return Template.from_stack(target)

    def job_template(self, job: str) -> Template:
        return self.template(self.stack.jobs.job_stacks[job])

    def template_files(self) -> list[Path]:
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        assert manifest["artifacts"]
        return sorted(self.outdir.glob("*.template.json"))


def synthesize(tmp: Path, context: dict[str, object], *, nag: bool) -> Synthesized:
    """Synthesize :class:`CronbridgeStack` with ``context`` into ``tmp``."""
    app = App(outdir=str(tmp), context=context)
    stack = CronbridgeStack(app, "Cronbridge")
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except RuntimeError as exc:  # jsii surfaces ValidationFailed as RuntimeError
        return Synthesized(app, stack, tmp, str(exc))
    return Synthesized(app, stack, tmp, None)

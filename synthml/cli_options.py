"""Options that several `synthml` commands share."""

from typing import Annotated

import typer

from synthml.envs.sandbox.config import SandboxConfig, parse_sandbox
from synthml.errors import SandboxError


def _sandbox(text: str) -> SandboxConfig:
    try:
        return parse_sandbox(text)
    except SandboxError as e:
        raise typer.BadParameter(str(e)) from None


SandboxOption = Annotated[object, typer.Option(
    parser=_sandbox, metavar="SANDBOX",
    help="bwrap, docker, swerex, a JSON config such as '{\"type\": \"docker\", \"image\": \"...\"}', or a YAML or "
         "JSON file holding one (see README, Use).")]
"""`--sandbox`, parsed into a `SandboxConfig` (typed `object`: typer takes no union of models as a type)."""

"""Sandbox backends as one tagged union (`type`); a config builds its own sandbox (`config.build(mounts)`).

What a user writes (a backend's name, a config dict, on the command line also JSON or a YAML/JSON file) is
turned into a `SandboxConfig` once, where it enters: `gym.make`, a CLI command, a run's config, a public function
such as `run_bench` or `validate_task`; what lies behind takes a `SandboxConfig`. A backend's heavy dependency
(docker SDK, swe-rex) is imported only when its sandbox is built. In the code `sandbox` names a config; a live
`Sandbox` is a `box`, or is named for its role (`agent`, `evaluator`).
"""

import json
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

from synthml.envs.sandbox.bwrap import BwrapConfig
from synthml.envs.sandbox.docker import DockerConfig
from synthml.envs.sandbox.fake import FakeConfig
from synthml.envs.sandbox.swerex import SwerexConfig
from synthml.errors import SandboxError

SandboxConfig = Annotated[BwrapConfig | DockerConfig | SwerexConfig | FakeConfig, Field(discriminator="type")]
_ADAPTER: TypeAdapter = TypeAdapter(SandboxConfig)
BACKENDS = ("bwrap", "docker", "swerex", "fake")
DEFAULT_SANDBOX: SandboxConfig = BwrapConfig()
"""`"bwrap"` as a config: the default of what takes a config (an edge's default is the name)."""


SandboxSpec = str | dict | SandboxConfig
"""What the edges accept: a backend's name, a config dict, or a config."""


def sandbox_config(spec: SandboxSpec) -> SandboxConfig:
    """`"bwrap"`, `{"type": "docker", "image": ...}` or a config object."""
    if isinstance(spec, str):
        if spec not in BACKENDS:
            raise SandboxError(f"sandbox='{spec}' is not a backend; choose one of {', '.join(BACKENDS)}")
        spec = {"type": spec}
    if not isinstance(spec, dict | BwrapConfig | DockerConfig | SwerexConfig | FakeConfig):
        raise SandboxError(f"sandbox={spec!r}: a sandbox is a backend's name ({', '.join(BACKENDS)}) or a config "
                           "dict with its `type`")
    if isinstance(spec, dict):
        try:
            return _ADAPTER.validate_python(spec)
        except ValidationError as e:
            raise SandboxError(f"sandbox config {spec}: {e.errors()[0]['msg']} at "
                               f"'{'.'.join(map(str, e.errors()[0]['loc']))}'") from e
    return spec


def parse_sandbox(text: str) -> SandboxConfig:
    """`--sandbox` as a user types it: a backend's name, a JSON object, or a YAML or JSON file holding one."""
    if text.lstrip().startswith("{"):
        try:
            return sandbox_config(json.loads(text))
        except json.JSONDecodeError as e:
            raise SandboxError(f"--sandbox {text}: not JSON ({e.msg}); write an object such as "
                               '\'{"type": "docker", "image": "..."}\'') from None
    path = Path(text).expanduser()
    if text not in BACKENDS and path.suffix in (".yaml", ".yml", ".json"):
        if not path.is_file():
            raise SandboxError(f"--sandbox {text}: no such file; pass a backend ({', '.join(BACKENDS)}), a JSON "
                               "object or a YAML file holding one")
        try:
            return sandbox_config(yaml.safe_load(path.read_text()))
        except yaml.YAMLError as e:
            raise SandboxError(f"--sandbox {path}: not YAML ({e}); fix the file") from None
    return sandbox_config(text)


def _config_of(spec: Any) -> Any:
    return sandbox_config(spec) if isinstance(spec, str) else spec


SandboxField = Annotated[SandboxConfig, BeforeValidator(_config_of)]
"""A run config's sandbox: a config, or a backend's name (as older saved configs hold it)."""


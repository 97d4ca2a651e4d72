"""Sandbox backends as one tagged union (`type`), and the factory that builds one.

A backend's heavy dependency (docker SDK, swe-rex) is imported only when that backend is chosen.
"""

from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from synthml.envs.sandbox import Mounts, Sandbox
from synthml.envs.sandbox.bwrap import BwrapConfig
from synthml.envs.sandbox.docker import DockerConfig
from synthml.envs.sandbox.fake import FakeConfig
from synthml.envs.sandbox.swerex import SwerexConfig
from synthml.errors import SandboxError

SandboxConfig = Annotated[BwrapConfig | DockerConfig | SwerexConfig | FakeConfig, Field(discriminator="type")]
_ADAPTER: TypeAdapter = TypeAdapter(SandboxConfig)
BACKENDS = ("bwrap", "docker", "swerex", "fake")


def sandbox_config(spec: "str | dict | SandboxConfig") -> SandboxConfig:
    """`"bwrap"`, `{"type": "docker", "image": ...}` or a config object."""
    if isinstance(spec, str):
        if spec not in BACKENDS:
            raise SandboxError(f"sandbox='{spec}' is not a backend; choose one of {', '.join(BACKENDS)}")
        spec = {"type": spec}
    if isinstance(spec, dict):
        try:
            return _ADAPTER.validate_python(spec)
        except ValidationError as e:
            raise SandboxError(f"sandbox config {spec}: {e.errors()[0]['msg']} at "
                               f"'{'.'.join(map(str, e.errors()[0]['loc']))}'") from e
    return spec


def make_sandbox(spec: "str | dict | SandboxConfig", mounts: Mounts) -> Sandbox:
    config = sandbox_config(spec)
    if isinstance(config, BwrapConfig):
        from synthml.envs.sandbox.bwrap import BwrapSandbox

        return BwrapSandbox(config, mounts)
    if isinstance(config, DockerConfig):
        from synthml.envs.sandbox.docker import DockerSandbox

        return DockerSandbox(config, mounts)
    if isinstance(config, SwerexConfig):
        from synthml.envs.sandbox.swerex import SwerexSandbox

        return SwerexSandbox(config, mounts)
    from synthml.envs.sandbox.fake import FakeSandbox

    return FakeSandbox(config, mounts)

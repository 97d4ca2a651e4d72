"""Packages are discovered, never listed: every package under the folders that pyproject's `package-dir` maps
into `synthml.*` ships, so a new subpackage cannot be left out of the wheel; only those in NOT_SHIPPED stay out."""

import tomllib
from collections.abc import Iterator
from pathlib import Path

from setuptools import find_packages, setup

FOLDERS = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
# The speed benchmarks are experiments that live beside the code they time (run from a checkout's root as
# `python -m benchmarks.speed.env_speed`), not product: they and their subpackages stay out of the wheel.
NOT_SHIPPED = ("synthml.benchmarks.speed",)


def discovered() -> Iterator[str]:
    for package, folder in FOLDERS.items():
        yield package
        yield from (f"{package}.{sub}" for sub in find_packages(folder))


def shipped(package: str) -> bool:
    return not any(package == name or package.startswith(f"{name}.") for name in NOT_SHIPPED)


def not_shipped_as_data() -> dict[str, list[str]]:
    """A left-out package's files, kept from shipping as its parent's data files: setuptools packs every file of
    the egg-info's manifest (SOURCES.txt) that lies in a package's folder, and a stale manifest may list them."""
    return {parent: [f"{name}/*"] for parent, _, name in (package.rpartition(".") for package in NOT_SHIPPED)}


setup(packages=[package for package in discovered() if shipped(package)], exclude_package_data=not_shipped_as_data())

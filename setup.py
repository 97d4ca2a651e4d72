"""Packages are discovered, never listed: every package under the folders that pyproject's `package-dir` maps
into `synthml.*` ships, so a new subpackage cannot be left out of the wheel."""

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

FOLDERS = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]

setup(packages=[f"{package}.{sub}" if sub else package
                for package, folder in FOLDERS.items() for sub in ["", *find_packages(folder)]])

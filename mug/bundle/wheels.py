"""Pure-Python wheels: download from PyPI, build from local folders, check for compiled code, normalize."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from mug.bundle.constants import PYODIDE_MARKER_ENV, PYODIDE_VERSION, SOURCE_DATE_EPOCH, ZIP_DATE
from mug.bundle.errors import BundleError

COMPILED_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".a", ".wasm")
PIP_PURE_FLAGS = [
    "--no-deps",
    "--only-binary=:all:",
    "--python-version",
    "3.12",
    "--implementation",
    "py",
    "--abi",
    "none",
    "--platform",
    "any",
]


def wheel_name_version(path: Path) -> tuple[str, Version]:
    """Return the canonical distribution name and version from a wheel file name."""
    name, version, _, _ = parse_wheel_filename(path.name)
    return canonicalize_name(name), version


def compiled_member(path: Path) -> str | None:
    """Return the first compiled-code file inside a wheel, or None if the wheel is pure Python."""
    _, _, _, tags = parse_wheel_filename(path.name)
    with zipfile.ZipFile(path) as zf:
        for member in sorted(zf.namelist()):
            base = member.rsplit("/", 1)[-1]
            if base.endswith(COMPILED_SUFFIXES) or ".so." in base:
                return member
    for tag in tags:
        if tag.abi != "none" or tag.platform != "any":
            return f"{path.name} (platform tag {tag})"
    return None


def ensure_pure(path: Path) -> None:
    """Raise BundleError if the wheel at ``path`` ships compiled code (Pyodide could not load it)."""
    member = compiled_member(path)
    if member is not None:
        name, _ = wheel_name_version(path)
        raise BundleError(
            f"package '{name}' ships compiled code ({member}) and is not in the official Pyodide "
            f"{PYODIDE_VERSION} distribution; Pyodide cannot load it. "
            "Use a pure-Python package or one Pyodide ships."
        )


def wheel_requirements(path: Path, extras: frozenset[str] = frozenset()) -> list[Requirement]:
    """Return the Requires-Dist entries of a wheel that apply in Pyodide.

    Markers are evaluated for Pyodide 0.27.7; entries of extras apply only if the extra is in ``extras``.
    """
    with zipfile.ZipFile(path) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        meta = Parser().parsestr(zf.read(meta_name).decode("utf-8"))
    out = []
    for text in meta.get_all("Requires-Dist") or []:
        req = Requirement(text)
        if req.marker is not None and not any(
            req.marker.evaluate({**PYODIDE_MARKER_ENV, "extra": extra}) for extra in ("", *sorted(extras))
        ):
            continue
        out.append(req)
    return out


def _pip_errors(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    return "\n".join(lines)[-600:]


def _pip(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False, env=env)


def cached_wheel(folder: Path, req: Requirement) -> Path | None:
    """Return the newest wheel in ``folder`` matching the requirement, if any."""
    best: tuple[Version, Path] | None = None
    for path in folder.glob("*.whl") if folder.is_dir() else []:
        try:
            name, version = wheel_name_version(path)
        except ValueError:
            continue
        if name == canonicalize_name(req.name) and req.specifier.contains(version, prereleases=True):
            if best is None or version > best[0]:
                best = (version, path)
    return best[1] if best else None


def download_pure(req: Requirement, cache: Path, offline: bool) -> Path:
    """Return a pure-Python wheel for ``req`` from the cache, else from PyPI via ``pip download``.

    Raises:
        BundleError: nothing matches, or the only wheels ship compiled code.
    """
    pinned = any(s.operator in ("==", "===") for s in req.specifier)
    hit = cached_wheel(cache, req)
    if hit is not None and (pinned or offline):
        return hit
    if offline:
        raise BundleError(
            f"offline build, but no wheel for '{req}' is in the cache {cache}: run one build without --offline"
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc = _pip(["download", *PIP_PURE_FLAGS, "-q", "-d", tmp, str(req)])
        got = sorted(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not got:
            any_proc = _pip(["download", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp, str(req)])
            binaries = sorted(Path(tmp).glob("*.whl"))
            if any_proc.returncode == 0 and binaries:
                ensure_pure(binaries[0])
            raise BundleError(
                f"pip cannot find a pure-Python wheel for '{req}' (needed in the browser bundle): {_pip_errors(proc)}"
            )
        ensure_pure(got[0])
        dest = cache / got[0].name
        shutil.copyfile(got[0], dest)
        return dest


def parse_requirement(text: str) -> Requirement:
    """Parse a pip requirement string, raising BundleError with the reason if it is not one."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise BundleError(
            f"'{text}' is neither an existing local project folder nor a valid requirement: {exc}"
        ) from None


def build_local(folder: Path, dest: Path) -> Path:
    """Build a wheel of the local project in ``folder`` (copied first, so the folder stays clean).

    Returns:
        The normalized (reproducible) wheel in ``dest``.
    """
    if not folder.is_dir():
        raise BundleError(f"the local package folder {folder} does not exist")
    if not any((folder / f).is_file() for f in ("pyproject.toml", "setup.py", "setup.cfg")):
        raise BundleError(f"{folder} is not a Python project: it has no pyproject.toml or setup.py")
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH), "PYTHONHASHSEED": "0"}
    ignore = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".git", ".venv", "*.pyc")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(folder, src, ignore=ignore)
        out = Path(tmp) / "out"
        proc = _pip(["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)], env)
        if proc.returncode != 0:  # e.g. the build backend is not installed here: let pip fetch it
            proc = _pip(["wheel", "--no-deps", "-q", "-w", str(out), str(src)], env)
        built = sorted(out.glob("*.whl"))
        if proc.returncode != 0 or not built:
            raise BundleError(f"building a wheel of {folder} failed: {_pip_errors(proc)}")
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / built[0].name
        normalize_wheel(built[0], target)
    ensure_pure(target)
    return target


def normalize_wheel(src: Path, dest: Path) -> None:
    """Rewrite a wheel with sorted entries, fixed timestamps and fixed permissions (same content)."""
    with zipfile.ZipFile(src) as zin:
        items = [(info.filename, zin.read(info)) for info in zin.infolist() if not info.is_dir()]
    write_zip(dest, sorted(items))


def write_zip(dest: Path, items: list[tuple[str, bytes]]) -> None:
    """Write a reproducible zip file: entries in the given order, 1980-01-01 timestamps, mode 0644."""
    tmp = dest.with_suffix(dest.suffix + ".part")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            zf.writestr(info, data, compresslevel=9)
    tmp.replace(dest)

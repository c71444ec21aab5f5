#!/usr/bin/env python3
"""Build the interface packages PyPI lacks (tf2_msgs, vision_msgs, hri_msgs) into a Python prefix.

With only the PyPI ROS 2 wheels there is no tf2_msgs, vision_msgs or hri_msgs to
install. Their definitions live in ``interfaces/<pkg>`` (same fields as upstream, so
the same type hashes) and are built here with the rosidl tooling from PyPI, then
installed into the prefix of this interpreter (the virtual environment): from then
on ``from vision_msgs.msg import Detection2DArray`` works with no environment variable.

A package is skipped when a ROS install already provides it (importable from outside
the prefix) and when the build in the prefix is current (a stamp over its sources,
this script and the ROS wheels' versions), so a second run builds nothing.

Usage: ``python scripts/build_interfaces.py [--prefix DIR] [--check] [--force] [pkg ...]``.
Exit status 0 when every package is available, 1 when one could not be built
(the reason is printed), 2 with ``--check`` when something would be built.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "interfaces"
PACKAGES = ("tf2_msgs", "vision_msgs", "hri_msgs")
#: The compilers and tools the rosidl build needs besides the pip packages (scripts/env.sh installs them).
SYSTEM_TOOLS = {"cc": ("cc", "gcc"), "c++": ("c++", "g++"), "make": ("make",)}


def log(text: str) -> None:
    print(f"[interfaces] {text}", flush=True)


def provider(package: str, prefix: Path) -> Path | None:
    """Return where ``package`` is importable from outside ``prefix`` (a ROS install), else None."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin).resolve()
    return None if prefix.resolve() in origin.parents else origin.parent


def stamp_of(package: str) -> str:
    """Digest of what the build of ``package`` depends on: its sources, this script, Python and the ROS wheels."""
    digest = hashlib.sha256()
    files = sorted(p for p in (SOURCES / package).rglob("*") if p.is_file())
    for path in files + [SOURCES / "python_includes.cmake", Path(__file__)]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(sys.version.encode())
    wheels = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()
                    if (d.metadata["Name"] or "").lower().startswith("ros-"))
    digest.update("\n".join(wheels).encode())
    return digest.hexdigest()


def stamp_path(package: str, prefix: Path) -> Path:
    return prefix / ".ler-interfaces" / f"{package}.stamp"


def is_current(package: str, prefix: Path) -> bool:
    stamp = stamp_path(package, prefix)
    return (stamp.is_file() and stamp.read_text().strip() == stamp_of(package)
            and importlib.util.find_spec(package) is not None)


def missing_tools() -> list[str]:
    """Names of the system tools (compilers, make, Python headers, cmake) that are not installed."""
    missing = [name for name, candidates in SYSTEM_TOOLS.items() if not any(map(shutil.which, candidates))]
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        missing.append("Python headers (python3-dev)")
    if cmake() is None:
        missing.append("cmake")
    prefixes = [Path(sys.prefix)] + [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    for generator in ("rosidl_default_generators", "ament_cmake"):
        if not any((p / "share" / generator).is_dir() for p in prefixes):
            missing.append(f"{generator} (pip extra [interfaces])")
    return missing


def cmake() -> str | None:
    local = Path(sys.prefix) / "bin" / "cmake"  # the pip `cmake` package
    return str(local) if local.is_file() else shutil.which("cmake")


def build(package: str, prefix: Path, jobs: int) -> None:
    """Configure, build and install ``package`` into ``prefix``; raise RuntimeError with the log's tail on failure."""
    work = prefix / ".ler-interfaces" / "build" / package
    manifest = prefix / ".ler-interfaces" / f"{package}.manifest"
    if manifest.is_file():  # files of the previous build (a message may have been removed since)
        for line in manifest.read_text().splitlines():
            Path(line).unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = dict(os.environ)
    env["AMENT_PREFIX_PATH"] = os.pathsep.join(filter(None, [str(prefix), os.environ.get("AMENT_PREFIX_PATH")]))
    env["PATH"] = os.pathsep.join([str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")])
    steps = [
        [cmake(), "-S", str(SOURCES / package), "-B", str(work), f"-DCMAKE_INSTALL_PREFIX={prefix}",
         f"-DCMAKE_PREFIX_PATH={prefix}", "-DBUILD_TESTING=OFF", "-DCMAKE_BUILD_TYPE=Release",
         f"-DPython3_EXECUTABLE={sys.executable}", f"-DCMAKE_PROJECT_INCLUDE={SOURCES / 'python_includes.cmake'}"],
        [cmake(), "--build", str(work), "-j", str(jobs)],
        [cmake(), "--install", str(work)],
    ]
    with open(work / "build.log", "w") as out:
        for step in steps:
            if subprocess.run(step, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT).returncode:
                tail = (work / "build.log").read_text().splitlines()[-25:]
                raise RuntimeError(f"`{' '.join(step[:2])} ...` failed; last lines of {work / 'build.log'}:\n"
                                   + "\n".join(tail))
    shutil.copy(work / "install_manifest.txt", manifest)
    shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", metavar="PKG", help=f"some of {', '.join(PACKAGES)} (default: all)")
    parser.add_argument("--prefix", type=Path, default=Path(sys.prefix), help="install prefix (default: this venv)")
    parser.add_argument("--check", action="store_true", help="only say whether anything would be built (exit 2)")
    parser.add_argument("--force", action="store_true", help="rebuild even when current")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    prefix = args.prefix.resolve()
    unknown = set(args.packages) - set(PACKAGES)
    if unknown:
        parser.error(f"unknown packages {sorted(unknown)}: choose from {', '.join(PACKAGES)}")
    todo = []
    for package in args.packages or PACKAGES:
        found = provider(package, prefix)
        if found is not None:
            log(f"{package}: provided by the ROS install ({found}), not built")
        elif not args.force and is_current(package, prefix):
            log(f"{package}: built and current (cached), nothing to do")
        else:
            todo.append(package)
    if args.check or not todo:
        return 2 if todo and args.check else 0
    missing = missing_tools()
    if missing:
        log(f"cannot build {', '.join(todo)}: missing {', '.join(missing)}")
        return 1
    failed = []
    for package in todo:
        start = time.perf_counter()
        log(f"{package}: building into {prefix} (once; about a minute or two on 2 cores)")
        try:
            build(package, prefix, args.jobs)
        except (RuntimeError, OSError) as err:
            log(f"{package}: build failed: {err}")
            failed.append(package)
            continue
        stamp = stamp_path(package, prefix)
        stamp.write_text(stamp_of(package) + "\n")
        log(f"{package}: built in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

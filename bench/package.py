"""The Lambda zip as ``make package STAGE=prod`` builds it: its size, and the cold start of
the packaged code as it unpacks on Lambda, against its own emulator.

    python -m bench.package [--runs 10] [--zip dist/deployment.zip]

The zip is built into a temporary directory (or taken from ``--zip``), unpacked, and each
function's first invocation runs from the unpacked copy with an interpreter that sees
nothing else but the AWS SDK, as the runtime provides it (boto3, botocore and their
dependencies, from this virtualenv): a module the zip lacks fails the run. The baseline is
the same bare chalice + boto3 + one Query as bench/cold_start.py, run the same way (from
the unpacked code, with the runtime's SDK only). This is the cold start figure judged
against its target: it is what Lambda runs (the tree's figure, in bench.core, also pays
for looking through a virtualenv full of test tools).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import cold_start
from bench.common import ROOT, first_restaurant, save, stack
from bench.report import Figure, table

ZIP_TARGET_MB = 15.0  # ~5 MB of it is cryptography (PyJWT RS256: the WebSocket connect token check)
COLD_TARGET = 1.15
STAGE = "prod"


def build(out: Path) -> tuple[Path, dict[str, Any]]:
    from devtools.package import package

    report = package(ROOT, STAGE, out)
    return out / "deployment.zip", report


def runtime_sdk(into: Path) -> Path:
    """A directory holding only the AWS SDK's packages, as the Lambda runtime has them."""
    import importlib.metadata

    from devtools.package import RUNTIME_PROVIDED

    into.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PROVIDED:
        dist = importlib.metadata.distribution(name)
        tops = (dist.read_text("top_level.txt") or "").split() or [name]
        for top in tops:
            for candidate in (Path(dist.locate_file(top)), Path(dist.locate_file(f"{top}.py"))):
                if candidate.exists() and not (into / candidate.name).exists():
                    (into / candidate.name).symlink_to(candidate)
    return into


def native_extensions(code: Path) -> list[str]:
    """Swaps compiled extensions built for another machine (the zip is arm64) for this
    machine's build of the same distribution version, from this virtualenv; returns them."""
    import importlib.metadata
    import sysconfig

    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    site = Path(sysconfig.get_paths()["purelib"])
    owners = importlib.metadata.packages_distributions()  # top-level name -> distributions
    swapped = []
    for foreign in code.rglob("*.so"):
        if foreign.name.endswith(suffix):
            continue
        relative = foreign.relative_to(code)
        stem = foreign.name.split(".", 1)[0]
        builds = (site / relative.parent / f"{stem}{suffix}", site / relative.parent / f"{stem}.abi3.so")
        native = next((b for b in builds if b.exists()), builds[0])
        # A package's extension, or a top-level one (cffi's _cffi_backend): its distribution.
        top = relative.parts[0] if len(relative.parts) > 1 else stem
        package = (owners.get(top) or [top])[0]
        dist_glob = f"{package.replace('-', '_')}-*.dist-info"
        zipped = {p.name.removesuffix(".dist-info").split("-")[1] for p in code.glob(dist_glob)}
        if not native.exists() or zipped != {importlib.metadata.version(package)}:
            raise SystemExit(f"no build of {relative} for this machine at the zip's version")
        foreign.unlink()
        native_copy = code / relative.parent / native.name
        native_copy.write_bytes(native.read_bytes())
        swapped.append(str(relative))
    return swapped


def measure(runs: int, zip_path: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report: dict[str, Any] = {}
        if zip_path is None:
            zip_path, report = build(root / "dist")
        code = root / "task"  # what Lambda unpacks to /var/task
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(code)
        swapped = native_extensions(code)
        sdk = runtime_sdk(root / "runtime")
        # -S: no site-packages, only the unpacked code and the runtime's SDK.
        path = {"PYTHONPATH": f"{code}{os.pathsep}{sdk}"}
        with stack() as env:
            restaurant_id = first_restaurant(env)
            # The baseline runs the same way: from /var/task (chalice is in the zip) with the
            # runtime's SDK and nothing else, so both sides load from the same paths.
            measured = cold_start.measure(
                env,
                restaurant_id,
                runs,
                project=code,
                python=[sys.executable, "-S"],
                app_env=path,
                baseline_env=path,
            )
        measured.pop("modules", None)
        out = {
            "zip_bytes": zip_path.stat().st_size,
            "chalice_zip_bytes": report.get("chalice_zip_bytes"),
            "left_out": report.get("runtime_provided_left_out"),
            "native_extensions": swapped,
            "cold_start": measured,
        }
    save("package", out)
    return out


def figures_of(m: dict[str, Any]) -> list[Figure]:
    mb = m["zip_bytes"] / 1e6
    note = f"left out, as the runtime has them: {', '.join(m['left_out'])}" if m.get("left_out") else ""
    if m.get("chalice_zip_bytes"):
        note += f"; chalice's zip was {m['chalice_zip_bytes'] / 1e6:.1f} MB"
    rows = [Figure.measured(f"Lambda zip (stage {STAGE})", mb, "MB", at_most=ZIP_TARGET_MB, digits=1, note=note)]
    if m.get("native_extensions"):
        rows[0] = replace(
            rows[0],
            note=rows[0].note + f"; its {', '.join(m['native_extensions'])} (arm64) ran as this machine's build",
        )
    rows += cold_start.figures_of(m["cold_start"], label=" from the zip", api_target=COLD_TARGET)
    return rows


def figures() -> list[Figure]:
    return figures_of(measure(cold_start.RUNS, None))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=cold_start.RUNS)
    parser.add_argument("--zip", type=Path, default=None, help="an existing zip (default: build one)")
    args = parser.parse_args(argv)
    print(table(figures_of(measure(args.runs, args.zip))))


if __name__ == "__main__":
    main()

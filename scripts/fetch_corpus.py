"""Download the third-party template corpus that tests/compliance/test_corpus.py checks.

tests/corpus/sources.json pins npm packages (name, exact version, the registry's sha512
``dist.integrity``). Each is fetched with ``npm pack`` into ``.corpus/.cache``, its tarball
checked against the pinned integrity (a mismatch stops the run), and only its templates and
cloud assembly manifests under ``package/test/`` are extracted into ``.corpus/<package>/``:

- ``*.template.json`` and ``*.expected.json`` (integration test snapshots, older and newer CDK),
- ``manifest.json`` (a snapshot's cloud assembly manifest, so nested assemblies are walked),
- ``*.yaml`` / ``*.yml`` files that are CloudFormation templates (a top-level
  ``AWSTemplateFormatVersion:`` or ``Resources:`` line; OpenAPI definitions are left out).

``make setup-dev`` runs it. It is idempotent: ``.corpus/.fetched`` records the digest of
sources.json and of this script, and a run with the same digest does nothing. Standard
library and npm only.

    .venv/bin/python scripts/fetch_corpus.py [--force]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "tests" / "corpus" / "sources.json"
CORPUS = ROOT / ".corpus"
STAMP_NAME = ".fetched"
_IN_TARBALL = PurePosixPath("package/test")
_KEPT_SUFFIXES = (".template.json", ".expected.json")
_YAML_TEMPLATE = re.compile(rb"^(AWSTemplateFormatVersion|Resources)\s*:", re.MULTILINE)


class FetchError(Exception):
    """The corpus cannot be fetched as pinned."""


def sources_digest(sources: Path = SOURCES) -> str:
    """What the stamp records: the corpus on disk is the one ``sources`` pins, extracted by
    this version of the script."""
    return hashlib.sha256(sources.read_bytes() + Path(__file__).read_bytes()).hexdigest()


def read_sources(sources: Path = SOURCES) -> list[dict[str, str]]:
    try:
        packages = json.loads(sources.read_text())["packages"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FetchError(f"{sources}: not a list of pinned packages ({error})") from None
    for entry in packages:
        missing = {"package", "version", "integrity", "license"} - set(entry)
        if missing:
            raise FetchError(f"{sources}: {entry} lacks {', '.join(sorted(missing))}")
        if not entry["integrity"].startswith("sha512-"):
            raise FetchError(f"{sources}: {entry['package']}: integrity is not sha512")
    return packages


def directory_name(package: str) -> str:
    """``@scope/name`` -> ``name``: the package's directory under ``.corpus``."""
    return package.rsplit("/", 1)[-1]


def integrity_of(tarball: Path) -> str:
    """The tarball's sha512 in npm's Subresource Integrity form (``sha512-<base64>``)."""
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def npm_pack(package: str, version: str, cache: Path) -> Path:
    """The package's tarball in ``cache`` (downloaded once)."""
    tarball = cache / f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"
    if tarball.is_file():
        return tarball
    cache.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm is not on PATH (make setup-dev puts the venv's Node first)")
    result = subprocess.run(
        [npm, "pack", f"{package}@{version}", "--pack-destination", str(cache), "--silent"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not tarball.is_file():
        raise FetchError(
            f"npm pack {package}@{version} failed (exit {result.returncode}): "
            f"{result.stderr.strip()[-1000:]}"
        )
    return tarball


def wanted(
    member: tarfile.TarInfo, read: Callable[[tarfile.TarInfo], bytes]
) -> PurePosixPath | None:
    """The path under the package's corpus directory, or None for a file not kept."""
    path = PurePosixPath(member.name)
    if not member.isfile() or ".." in path.parts or _IN_TARBALL not in path.parents:
        return None
    name = path.name
    keep = name.endswith(_KEPT_SUFFIXES) or name == "manifest.json"
    if name.endswith((".yaml", ".yml")):
        keep = bool(_YAML_TEMPLATE.search(read(member)))
    return path.relative_to(_IN_TARBALL) if keep else None


def declared_license(archive: tarfile.TarFile) -> str:
    """The ``license`` its ``package/package.json`` declares, or "" when there is none."""
    try:
        manifest = json.loads(archive.extractfile("package/package.json").read())
    except (KeyError, AttributeError, ValueError):
        return ""
    return str(manifest.get("license", "")) if isinstance(manifest, dict) else ""


def extract(tarball: Path, destination: Path, license: str) -> int:
    """Extract the kept files of ``tarball`` into ``destination``; how many there were.

    Raises:
        FetchError: the package does not declare the pinned licence.
    """
    count = 0
    with tarfile.open(tarball, "r:gz") as archive:
        declared = declared_license(archive)
        if declared != license:
            raise FetchError(
                f"{tarball.name}: its package.json declares licence "
                f"{declared or 'none'}, not the pinned {license}"
            )

        def read(member: tarfile.TarInfo) -> bytes:
            return archive.extractfile(member).read()

        for member in archive.getmembers():
            relative = wanted(member, read)
            if relative is None:
                continue
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read(member))
            count += 1
    return count


def fetch(sources: Path = SOURCES, corpus: Path = CORPUS, force: bool = False) -> list[str]:
    """Fetch, verify and extract every pinned package; lines to print."""
    stamp = corpus / STAMP_NAME
    digest = sources_digest(sources)
    if not force and stamp.is_file() and stamp.read_text().strip() == digest:
        return [f"{corpus}: up to date"]
    packages = read_sources(sources)
    corpus.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    for old in corpus.glob("*") if corpus.is_dir() else []:
        if old.is_dir() and not old.name.startswith("."):
            shutil.rmtree(old)
    lines = []
    for entry in packages:
        package, version = entry["package"], entry["version"]
        tarball = npm_pack(package, version, corpus / ".cache")
        actual = integrity_of(tarball)
        if actual != entry["integrity"]:
            tarball.unlink()
            raise FetchError(
                f"{package}@{version}: the tarball's integrity {actual} is not the pinned "
                f"{entry['integrity']} ({sources}); refusing to use it"
            )
        count = extract(tarball, corpus / directory_name(package), entry["license"])
        if count == 0:
            raise FetchError(f"{package}@{version}: no templates under {_IN_TARBALL}/")
        lines.append(f"{package}@{version}: {count} files")
    stamp.write_text(digest + "\n")
    return lines


def check_targets(corpus: Path = CORPUS) -> list[Path]:
    """What ``python -m ml_refarch check`` is given to read the whole corpus, one by one.

    Each cloud assembly (a directory with a ``manifest.json``: check walks the assemblies
    nested in it itself), and each other directory with files directly in it.
    """
    targets: list[Path] = []
    assemblies: list[Path] = []
    for directory in sorted([corpus, *(d for d in corpus.rglob("*") if d.is_dir())]):
        hidden = any(part.startswith(".") for part in directory.relative_to(corpus).parts)
        if hidden or any(a in directory.parents for a in assemblies):
            continue  # check walks an assembly's nested assemblies itself
        if (directory / "manifest.json").is_file():
            assemblies.append(directory)
            targets.append(directory)
        elif any(f.is_file() and not f.name.startswith(".") for f in directory.iterdir()):
            targets.append(directory)
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch again even if up to date")
    args = parser.parse_args(argv)
    try:
        for line in fetch(force=args.force):
            print(line)
    except FetchError as error:
        print(f"fetch_corpus: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

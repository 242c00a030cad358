"""scripts/fetch_corpus.py: pinned integrity, only templates kept, a stamp for re-runs."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from tests.load import load_by_path
from tests.support import ROOT

fetch_corpus = load_by_path("ml_refarch_scripts_fetch_corpus", ROOT / "scripts" / "fetch_corpus.py")

PACKAGE, VERSION = "@example/templates", "1.2.3"
FILES = {
    "package/test/integ.a.expected.json": b'{"Resources": {}}',
    "package/test/integ.b.js.snapshot/b.template.json": b'{"Resources": {}}',
    "package/test/integ.b.js.snapshot/manifest.json": b"{}",
    "package/test/integ.b.js.snapshot/b.assets.json": b"{}",
    "package/test/cfn.yaml": b"AWSTemplateFormatVersion: 2010-09-09\nResources: {}\n",
    "package/test/openapi.yaml": b"openapi: 3.0.0\npaths: {}\n",
    "package/lib/index.template.json": b"{}",
    "package/package.json": b'{"name": "@example/templates", "license": "Apache-2.0"}',
}


def make_tarball(cache, files=FILES):
    """The tarball npm pack would have written to the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / "example-templates-1.2.3.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return tarball


def pinned(tmp_path, files=FILES, integrity=None, license="Apache-2.0"):
    """A corpus folder with the package's tarball in its cache, and sources.json pinning it
    (with the tarball's own integrity unless ``integrity`` is given)."""
    corpus, sources = tmp_path / "corpus", tmp_path / "sources.json"
    tarball = make_tarball(corpus / ".cache", files)
    entry = {
        "package": PACKAGE,
        "version": VERSION,
        "integrity": integrity or fetch_corpus.integrity_of(tarball),
        "license": license,
    }
    sources.write_text(json.dumps({"packages": [entry]}))
    return corpus, sources, tarball


def test_only_templates_and_manifests_under_test_are_extracted(tmp_path):
    corpus, sources, _ = pinned(tmp_path)
    fetch_corpus.fetch(sources, corpus)
    kept = sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file())
    assert kept == [
        ".cache/example-templates-1.2.3.tgz",
        ".fetched",
        "templates/cfn.yaml",
        "templates/integ.a.expected.json",
        "templates/integ.b.js.snapshot/b.template.json",
        "templates/integ.b.js.snapshot/manifest.json",
    ]
    assert fetch_corpus.check_targets(corpus) == [
        corpus / "templates",
        corpus / "templates" / "integ.b.js.snapshot",
    ]


def test_a_tarball_that_is_not_the_pinned_one_is_refused(tmp_path):
    corpus, sources, tarball = pinned(tmp_path, integrity="sha512-" + "A" * 86 + "==")
    with pytest.raises(fetch_corpus.FetchError, match="not the pinned"):
        fetch_corpus.fetch(sources, corpus)
    assert not tarball.exists()  # not kept to be trusted next time
    assert not (corpus / fetch_corpus.STAMP_NAME).exists()


def test_a_second_run_with_the_same_sources_does_nothing(tmp_path):
    corpus, sources, tarball = pinned(tmp_path)
    fetch_corpus.fetch(sources, corpus)
    tarball.unlink()  # a fetch now would fail: npm pack is not available to the test
    assert fetch_corpus.fetch(sources, corpus) == [f"{corpus}: up to date"]


def test_paths_outside_the_package_test_folder_are_not_written(tmp_path):
    files = {"package/test/../../evil.template.json": b"{}", **FILES}
    corpus, sources, _ = pinned(tmp_path, files)
    fetch_corpus.fetch(sources, corpus)
    assert not (tmp_path / "evil.template.json").exists()
    assert not list(corpus.rglob("evil*"))


def test_a_package_that_does_not_declare_the_pinned_licence_is_refused(tmp_path):
    corpus, sources, _ = pinned(tmp_path, license="MIT-0")
    with pytest.raises(
        fetch_corpus.FetchError, match=r"declares licence Apache-2\.0, not the pinned MIT-0"
    ):
        fetch_corpus.fetch(sources, corpus)
    assert not (corpus / fetch_corpus.STAMP_NAME).exists()

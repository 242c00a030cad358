"""The committed Dockerfile and buildspec, read statically (there is no Docker engine here):
the /opt/ml layout, the entry point SAGEMAKER_PROGRAM names, pinned base images from ECR
Public, a non-root build stage, the packages' pins, and the buildspec's shape."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from ml_refarch.stacks.custom_training_container.image import (
    BASE_IMAGE_REPOSITORY,
    CONTAINER_DIR,
    DOCKERFILE,
    base_image_tags,
    buildspec,
    context_files,
    image_tag,
    write_build_context,
)
from tests.support import ROOT

#: Dockerfile instructions ("Dockerfile reference", https://docs.docker.com/reference/dockerfile/).
INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def parse_dockerfile(text: str) -> list[list[Instruction]]:
    """The instructions of each build stage (the ARGs before the first FROM are stage 0's
    preamble, kept with the first stage), continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation"
    stages: list[list[Instruction]] = [[]]
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        assert keyword in INSTRUCTIONS, f"unknown instruction {keyword!r}"
        if keyword == "FROM" and any(i.keyword == "FROM" for i in stages[-1]):
            stages.append([])
        stages[-1].append(Instruction(keyword, arguments.strip()))
    return stages


def env_values(stage: list[Instruction]) -> dict[str, str]:
    values = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                name, _, value = pair.partition("=")
                values[name] = value
    return values


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def test_the_parser_joins_continuations_and_refuses_what_docker_would():
    stages = parse_dockerfile("# c\nFROM a:1 AS b\nRUN x \\\n    y\nFROM b\nUSER u\n")
    assert [[i.keyword for i in stage] for stage in stages] == [["FROM", "RUN"], ["FROM", "USER"]]
    assert stages[0][1].arguments == "x y"
    with pytest.raises(AssertionError):
        parse_dockerfile("FROM a:1\nBUILD x\n")


def test_the_image_runs_the_committed_entry_point_from_opt_ml_code(stages):
    final = stages[-1]
    program = env_values(final)["SAGEMAKER_PROGRAM"]
    assert program == "entry.py"
    assert (CONTAINER_DIR / program).is_file()
    workdirs = [i.arguments for i in final if i.keyword == "WORKDIR"]
    assert workdirs == ["/opt/ml/code"]
    copies = [shlex.split(i.arguments) for i in final if i.keyword == "COPY"]
    code_copy = next(c for c in copies if c[-1].startswith("/opt/ml/code"))
    assert code_copy[-1] == "/opt/ml/code/" and {program, "train.py"} <= set(code_copy[:-1])
    # Every file the image copies from the context is in the build context.
    sources = {s for c in copies if not c[0].startswith("--from") for s in c[:-1]}
    assert sources <= set(context_files())


def test_the_training_toolkit_is_installed_and_pinned(stages):
    requirements = (CONTAINER_DIR / "requirements.txt").read_text(encoding="utf-8")
    pins = dict(
        re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][^\s]*)", line).groups()
        for line in requirements.splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert "sagemaker-training" in pins  # provides the `train` command SageMaker runs
    # The image has the versions the tests run the training script with.
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    for name in ("numpy", "scikit-learn", "joblib"):
        assert f"{name}=={pins[name]}" in constraints
    installs = [i.arguments for i in stages[-1] if i.keyword == "RUN"]
    assert any(
        "-r /tmp/requirements.txt" in command and "--no-index" in command for command in installs
    )


def test_base_images_come_from_ecr_public_with_pinned_tags(stages):
    preamble_args = [i.arguments for i in stages[0] if i.keyword == "ARG"]
    assert "BASE_REGISTRY=public.ecr.aws" in preamble_args
    froms = [i.arguments.split()[0] for stage in stages for i in stage if i.keyword == "FROM"]
    assert froms and all(
        f.startswith(f"${{BASE_REGISTRY}}/{BASE_IMAGE_REPOSITORY}:") for f in froms
    )
    tags = base_image_tags()
    assert tags == ["3.12-bookworm", "3.12-slim-bookworm"]
    assert all(tag != "latest" and re.match(r"\d+\.\d+", tag) for tag in tags)


def test_the_build_stage_runs_as_a_user_and_the_final_stage_leaves_root_to_sagemaker(stages):
    builder, final = stages[0], stages[-1]
    users = [i.arguments for i in builder if i.keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    # SageMaker mounts /opt/ml root-owned: the final stage names no other user, and says why.
    assert not [i for i in final if i.keyword == "USER"]
    assert "No USER here" in DOCKERFILE.read_text(encoding="utf-8")


def test_the_package_index_token_is_a_build_secret_not_an_argument(stages):
    text = " ".join(i.arguments for stage in stages for i in stage)
    assert "--mount=type=secret,id=pip_index_url" in text
    assert not [i for stage in stages for i in stage if i.keyword == "ARG" and "PIP" in i.arguments]


def test_the_buildspec_has_the_shape_codebuild_reads():
    spec = buildspec()
    assert spec["version"] == 0.2
    assert set(spec) <= {"version", "env", "phases", "artifacts", "reports", "cache", "batch"}
    assert set(spec["phases"]) <= {"install", "pre_build", "build", "post_build"}
    for phase in spec["phases"].values():
        assert set(phase) <= {"run-as", "on-failure", "runtime-versions", "commands", "finally"}
        assert all(isinstance(command, str) and command for command in phase["commands"])


def test_the_buildspec_builds_pushes_and_skips_a_tag_that_exists():
    commands = "\n".join(c for p in buildspec()["phases"].values() for c in p["commands"])
    assert 'docker login --username AWS --password-stdin "$REGISTRY"' in commands
    assert "aws ecr describe-images" in commands and 'imageTag="$IMAGE_TAG"' in commands
    assert '--build-arg BASE_REGISTRY="$BASE_REGISTRY"' in commands
    assert "--secret id=pip_index_url" in commands
    assert 'docker push "$REPOSITORY_URI:$IMAGE_TAG"' in commands
    used = set(re.findall(r"\$\{?([A-Z][A-Z_]+)", commands))
    provided = {
        "REGISTRY", "REPOSITORY_URI", "IMAGE_TAG", "BASE_REGISTRY", "CODEARTIFACT_DOMAIN",
        "CODEARTIFACT_OWNER", "CODEARTIFACT_REPOSITORY",
    }  # fmt: skip
    codebuild = {"CODEBUILD_SRC_DIR", "CODEBUILD_BUILD_SUCCEEDING"}
    local = {"TOKEN", "ENDPOINT"}
    assert used <= provided | codebuild | local


def test_the_build_context_holds_the_training_script_and_its_tag_follows_it(tmp_path):
    directory = write_build_context(tmp_path / "context")
    assert sorted(p.name for p in directory.iterdir()) == sorted(context_files())
    train = ROOT / "ml_refarch" / "assets" / "training" / "train.py"
    assert (directory / "train.py").read_bytes() == train.read_bytes()
    assert re.fullmatch(r"v-[0-9a-f]{16}", image_tag())
    assert image_tag() == image_tag()  # the same context, the same tag


def test_the_build_context_is_rewritten_not_merged(tmp_path):
    directory = tmp_path / "context"
    directory.mkdir()
    (directory / "stale.txt").write_text("left over", encoding="utf-8")
    write_build_context(directory)
    assert not (directory / "stale.txt").exists()
    assert Path(directory / "Dockerfile").is_file()

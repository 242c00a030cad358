"""``python -m ml_refarch rehearse``: the whole deploy rehearsal, from synth to report.

Two ways to deploy, one check:

- default: synthesize the app with ``target=local`` (rule packs included, as ``cdk synth``
  runs them), publish its file assets and create every stack with boto3 (what the test
  suite does);
- ``--cdk-cli`` (``make deploy-local``): the pinned CDK CLI bootstraps the stand-in and
  deploys every stack with ``--method=direct``.

Either way every stack must reach CREATE_COMPLETE and every resource moto models must exist
through its service API (:mod:`ml_refarch.rehearsal.deploy`), and, since moto enforces no
policy, every stack's runtime permission scenarios must pass offline
(:mod:`ml_refarch.permissions`). The moto server is started on
a free loopback port and stopped, by its process id, when the rehearsal ends; the
synthesized templates live in a temporary directory that is removed too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ml_refarch.config import LOCAL_ACCOUNT, LOCAL_REGION
from ml_refarch.rehearsal.deploy import (
    RehearsalError,
    StackArtifact,
    StackRehearsal,
    assembly_stacks,
    rehearse,
    report_lines,
)
from ml_refarch.rehearsal.stand_in import PROJECT_ROOT, StandIn

#: What the CLI must never carry over from the caller's shell: real credentials, profiles,
#: endpoints, or CDK settings pointing elsewhere.
_FOREIGN_PREFIXES = ("AWS_", "CDK_")


def synthesize_local(outdir: Path) -> Path:
    """Synthesize the app as ``cdk synth -c target=local`` does, into ``outdir``.

    Raises:
        RehearsalError: when the synth fails (the rule packs print their findings first).
    """
    import aws_cdk as cdk

    from ml_refarch.app import build_app, project_context

    app = cdk.App(context=project_context(target="local"), outdir=str(outdir))
    try:
        build_app(app).synth()
    except RuntimeError as error:  # jsii's error for a failed synth, such as the gate's
        raise RehearsalError(f"synth failed: {str(error).splitlines()[0]}") from None
    return outdir


def cli_environment(stand_in: StandIn) -> dict[str, str]:
    """The CDK CLI's environment: the stand-in's endpoint and fake credentials only."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(_FOREIGN_PREFIXES)
    }
    port = stand_in.endpoint_url.rsplit(":", 1)[1]
    environment.update(stand_in.environment())
    environment.update(
        {
            # The CLI passes the template's S3 URL to CloudFormation, built from this S3
            # endpoint; moto reads a "localhost" URL path-style from its own S3.
            "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{port}",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            # The venv's own Node first, as the Makefile does.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        }
    )
    return environment


def deploy_with_cdk_cli(stand_in: StandIn, outdir: Path) -> list[str]:
    """Bootstrap the stand-in and deploy every stack with the pinned CLI; returns failures."""
    environment = cli_environment(stand_in)
    commands = [
        # The environment is explicit, so no app is needed (and none is synthesized).
        ["npx", "cdk", "bootstrap", f"aws://{LOCAL_ACCOUNT}/{LOCAL_REGION}", "--app", ""],
        [
            "npx",
            "cdk",
            "deploy",
            "--all",
            "--method=direct",
            "--require-approval",
            "never",
            "-c",
            "target=local",
            "--output",
            str(outdir),
        ],
    ]
    failures = []
    for command in commands:
        print("$ " + " ".join(arg or "''" for arg in command), flush=True)
        completed = subprocess.run(
            [*command, "--no-notices"], cwd=PROJECT_ROOT, env=environment, check=False
        )
        if completed.returncode != 0:
            failures.append(f"{' '.join(command[:3])} exited with {completed.returncode}")
            break
    return failures


def _deploy_and_check(
    stand_in: StandIn, outdir: Path, *, cdk_cli: bool
) -> tuple[list[StackRehearsal], list[str]]:
    failures: list[str] = []
    if not cdk_cli:
        synthesize_local(outdir)  # while the server starts
    stand_in.wait_until_ready()
    print(f"moto server on {stand_in.endpoint_url} (process {stand_in.pid})", flush=True)
    if cdk_cli:
        failures = deploy_with_cdk_cli(stand_in, outdir)
    try:
        stacks = assembly_stacks(outdir)
    except RehearsalError as error:
        return [], [*failures, str(error)]
    results = rehearse(
        stand_in.endpoint_url,
        stacks.values(),
        modelled_types=stand_in.modelled_types,
        deploy=not cdk_cli,
    )
    print("\ndeploy rehearsal on moto:", flush=True)
    for line in report_lines(results, stand_in.errors_in_log()):
        print(line)
    return results, failures + permission_failures(stacks)


def permission_failures(stacks: dict[str, StackArtifact]) -> list[str]:
    """Print each stack's runtime permission scenarios (what moto cannot enforce, evaluated
    offline: :mod:`ml_refarch.permissions`); return the stacks where one fails."""
    from ml_refarch.permissions.run import evaluate, written_scenarios
    from ml_refarch.permissions.run import report_lines as permission_lines
    from ml_refarch.permissions.scenarios import ScenarioError

    print("\nruntime permissions (evaluated offline on the same templates):", flush=True)
    failures = []
    for name, artifact in stacks.items():
        try:
            result = evaluate(name, artifact.template, written_scenarios(name))
        except ScenarioError as error:
            failures.append(f"{name}: {error}")
            continue
        print("\n".join(permission_lines(result)))
        if not result.ok:
            failures.append(f"{name}: runtime permission scenarios fail (see above)")
    return failures


def run(*, cdk_cli: bool) -> int:
    """The rehearsal; 0 when every stack deployed and verified, 1 otherwise."""
    with tempfile.TemporaryDirectory(prefix="ml-refarch-rehearsal-") as workdir:
        stand_in = StandIn()
        stand_in.launch()
        try:
            results, failures = _deploy_and_check(
                stand_in, Path(workdir) / "cdk.out", cdk_cli=cdk_cli
            )
        finally:
            stand_in.stop()
            print(f"stopped the moto server (process {stand_in.pid})", flush=True)
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 0 if results and not failures and all(r.ok for r in results) else 1

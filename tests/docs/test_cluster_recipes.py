"""The launch recipes in examples/cluster/ start `nas` commands the real CLI accepts.

Every `nas ...` command line of the SLURM script and of the Kubernetes Job's shell
script is parsed by the CLI's own click parser (options, their values' types and
bounds), with the scheduler's variables set as on a node; the manifest is checked for
the fields an Indexed Job needs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import yaml

from cli.main import app

CLUSTER = Path(__file__).resolve().parents[2] / "examples" / "cluster"
SBATCH = CLUSTER / "nas_workers.sbatch"
JOB = CLUSTER / "nas_workers_job.yaml"
ENV = {"NAS_STORAGE": "postgresql://nas:secret@db-host/nas", "NAS_STUDY": "big",
       "STUDY": "big", "SLURM_ARRAY_TASK_ID": "3", "JOB_COMPLETION_INDEX": "3"}
OPERATORS = {";", "&&", "||", "|", ">", "<", "&", "(", ")", ">>", "2>&1"}


def nas_commands(script: str) -> list[list[str]]:
    """The argument lists of every ``nas`` command in a shell script, variables expanded
    from ENV (an unknown variable is an error: the test must know what a node sets)."""
    text = script.replace("\\\n", " ")

    def expand(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in ENV:
            raise AssertionError(f"variable {name} used by a nas command is not in ENV")
        return ENV[name]

    commands = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        tokens = list(lex)
        for i, tok in enumerate(tokens):
            if tok != "nas":
                continue
            args = []
            for t in tokens[i + 1:]:
                if t in OPERATORS or set(t) <= set(";&|<>()"):
                    break
                args.append(re.sub(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)", expand, t))
            commands.append(args)
    return commands


def parse(args: list[str]):
    """Parse ``nas ARGS`` with the CLI's own click command (typer's) (no callback runs)."""
    group = typer.main.get_command(app)
    sub = group.commands.get(args[0])
    assert sub is not None, f"'nas {args[0]}' is not a command of the CLI"
    return sub.make_context(args[0], list(args[1:]))


def job_script() -> tuple[dict, str]:
    doc = yaml.safe_load(JOB.read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["/bin/sh", "-c"]
    return doc, container["command"][2]


@pytest.mark.parametrize("source", ["sbatch", "job"])
def test_every_nas_command_parses_with_the_real_cli(source):
    script = SBATCH.read_text() if source == "sbatch" else job_script()[1]
    commands = nas_commands(script)
    assert [c[0] for c in commands] == ["search", "status", "worker"]
    contexts = {args[0]: parse(args) for args in commands}
    worker = contexts["worker"].params
    assert worker["index"] == 3 and worker["storage"] == ENV["NAS_STORAGE"]
    assert worker["study"] == contexts["search"].params["study"] == "big"
    assert contexts["search"].params["storage"] == ENV["NAS_STORAGE"]
    assert contexts["status"].params["study"] == "big"


def test_a_mistyped_option_or_value_is_caught():
    """The check can fail: what the recipes would look like with an error in them."""
    with pytest.raises(typer.TyperException, match="--indx") as exc:
        parse(["worker", "--storage", "x", "--indx", "3"])
    assert type(exc.value).__name__ == "NoSuchOption"
    with pytest.raises(typer.BadParameter):
        parse(["worker", "--storage", "x", "--index", "-1"])
    with pytest.raises(AssertionError, match="not a command"):
        parse(["workers", "--storage", "x"])
    with pytest.raises(AssertionError, match="SLURM_JOB_ID"):
        nas_commands('nas worker --storage x --index "$SLURM_JOB_ID"')


def test_the_slurm_script_is_a_job_array_with_one_index_per_task():
    text = SBATCH.read_text()
    assert text.startswith("#!/bin/bash\n")
    directives = dict(re.findall(r"^#SBATCH --([\w-]+)=(\S+)", text, flags=re.M))
    first, last = map(int, directives["array"].split("-"))
    assert (first, last) == (0, 7)
    assert '--index "$SLURM_ARRAY_TASK_ID"' in text.replace("\\\n", " ")


def test_the_kubernetes_manifest_is_an_indexed_job():
    doc, script = job_script()
    assert doc["apiVersion"] == "batch/v1" and doc["kind"] == "Job"
    assert doc["metadata"]["name"]
    spec = doc["spec"]
    assert spec["completionMode"] == "Indexed"
    assert isinstance(spec["completions"], int) and spec["completions"] >= 2
    assert 1 <= spec["parallelism"] <= spec["completions"]
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")  # a Job refuses Always
    (container,) = pod["containers"]
    assert container["name"] and container["image"]
    env = {e["name"] for e in container["env"]}
    assert {"NAS_STORAGE", "NAS_STUDY"} <= env
    assert '--index "$JOB_COMPLETION_INDEX"' in script.replace("\\\n", " ")

"""docker-compose.yml and the Dockerfile, read as data: the server commands they run."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def compose_web_gunicorn() -> list[str]:
    """The gunicorn command line of compose's web service (after its `migrate &&`)."""
    command = compose()["services"]["web"]["command"]
    shell, flag, script = shlex.split(command)
    assert (shell, flag) == ("sh", "-c"), command
    steps = [shlex.split(step) for step in script.split("&&")]
    gunicorn = [step for step in steps if step[0] == "gunicorn"]
    assert len(gunicorn) == 1, command
    return gunicorn[0]


def dockerfile_cmd() -> list[str]:
    """The Dockerfile's CMD, in its exec (JSON) form."""
    lines = (REPO / "Dockerfile").read_text().splitlines()
    cmd = [line for line in lines if line.startswith("CMD ")]
    assert len(cmd) == 1, cmd
    return list(json.loads(cmd[0][len("CMD ") :]))


def option(command: list[str], name: str) -> str:
    """The value after `name` in a command line."""
    return command[command.index(name) + 1]


def with_option(command: list[str], name: str, value: str) -> list[str]:
    changed = list(command)
    changed[changed.index(name) + 1] = value
    return changed

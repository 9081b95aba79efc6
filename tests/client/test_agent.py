"""`vigil agent`'s side of the monitors file (`command`) and its refusals before it polls.

The agent against a live Vigil server is in tests/triggers/test_end_to_end.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from vigil_client.monitors_file import MonitorsFileError, parse_monitors

from tests.client.conftest import VigilRunner


def test_a_command_string_runs_through_sh_and_a_list_as_is_and_is_never_sent() -> None:
    backup, report = parse_monitors(
        '[[monitor]]\nslug = "backup"\ncommand = "pg_dump db > /tmp/db.sql"\n'
        '[[monitor]]\nslug = "report"\ncommand = ["/usr/local/bin/report", "--daily"]\n'
    )

    assert backup.command == ["/bin/sh", "-c", "pg_dump db > /tmp/db.sql"]
    assert report.command == ["/usr/local/bin/report", "--daily"]
    # `vigil apply` sends fields; the command stays on the job host.
    assert "command" not in backup.fields


@pytest.mark.parametrize("value", ["3", '""', "[]", '["ok", 1]'])
def test_a_bad_command_names_the_key(value: str) -> None:
    with pytest.raises(MonitorsFileError, match="command: expected a string or a list of strings"):
        parse_monitors(f'[[monitor]]\nslug = "backup"\ncommand = {value}\n')


def test_the_agent_refuses_a_file_that_maps_no_command(vigil: VigilRunner, tmp_path: Path) -> None:
    config = tmp_path / "monitors.toml"
    config.write_text('[[monitor]]\nslug = "backup"\n')

    result = vigil("agent", "--config", str(config))

    assert result.returncode == 2
    assert b"maps no monitor to a command" in result.stderr


def test_the_agent_refuses_a_wait_longer_than_the_server_holds(vigil: VigilRunner, tmp_path: Path) -> None:
    config = tmp_path / "monitors.toml"
    config.write_text('[[monitor]]\nslug = "backup"\ncommand = "true"\n')

    result = vigil("agent", "--config", str(config), "--wait", "60")

    assert result.returncode == 2
    assert b"--wait must be between 0 and 25" in result.stderr

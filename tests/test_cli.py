"""The `ampli` console script dispatches to each subcommand's own parser."""

import pytest

from ampli.cli import main


@pytest.mark.parametrize("command", ["teach", "calibrate", "report"])
def test_each_subcommand_shows_its_own_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert f"usage: ampli {command}" in capsys.readouterr().out


def test_unknown_arguments_are_rejected(capsys):
    with pytest.raises(SystemExit) as e:
        main(["report", "/tmp", "--bogus"])
    assert e.value.code == 2 and "--bogus" in capsys.readouterr().err

"""What a command says when it cannot do what it was asked: `CliError`, which `tongban`
(cli/main.py) prints as one line on standard error and exits with 1."""

from __future__ import annotations


class CliError(Exception):
    """A mistake in what the command was given, or a condition it cannot work in (a port
    in use, no terminal to read a password from); its message is the whole explanation."""

"""Subcommands of ``imago-fed`` that live outside cli.py."""

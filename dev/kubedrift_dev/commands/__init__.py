"""Subcommands of ``python -m kubedrift_dev``; each exposes ``configure(parser)`` and ``run(args)``
like ``kubedrift.commands``."""

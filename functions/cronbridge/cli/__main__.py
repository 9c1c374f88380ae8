"""``python -m cronbridge.cli``: the same as the ``cronbridge`` command."""

from cronbridge.cli import main

main()

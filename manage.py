#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitorsite.settings")
    from django.core.management import execute_from_command_line

    from monitorsite.env import EnvError

    try:
        execute_from_command_line(sys.argv)
    except EnvError as error:
        # A setting that cannot be parsed: the message names it; a traceback would bury it.
        sys.exit(f"Vigil cannot start: {error}")


if __name__ == "__main__":
    main()

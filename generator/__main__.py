"""Commands: `python -m generator` runs the `charters` command."""

from .cli import main

if __name__ == "__main__":
    main()

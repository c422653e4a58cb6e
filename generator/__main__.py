"""Commands: `python -m generator` runs the `charters` command."""

from .cli import run

if __name__ == "__main__":
    run()

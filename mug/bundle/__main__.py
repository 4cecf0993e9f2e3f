import sys

from mug.bundle.cli import cli

sys.exit(cli())

import sys

from mug.envcheck.cli import cli

sys.exit(cli())

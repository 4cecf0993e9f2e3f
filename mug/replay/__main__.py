import sys

from mug.replay.cli import cli

raise SystemExit(cli(sys.argv[1:]))

"""`mug replay`: re-simulate the recorded episodes of a study with the browser's own code and confirm every step.

`mug.replay.data` reads an export folder, `mug.replay.simulate` drives the runners, `mug.replay.cli` is the
command.
"""

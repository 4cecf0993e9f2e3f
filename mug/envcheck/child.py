"""One CPython run of the env check, in a process of its own: `python -m mug.envcheck.child request.json`.

A process of its own because the check compares runs under different string hashing (PYTHONHASHSEED is
read once, when Python starts) and because the checker (and the server at start-up) must not import the
environment itself. The request is the JSON object the Pyodide runner gets (`mug.envcheck.check`); the
result is printed as one line, `MUG-RESULT {json}`, as the Pyodide runner prints it.
"""

from __future__ import annotations

import json
import sys

RESULT_PREFIX = "MUG-RESULT "


def main() -> int:
    """Read the request file named by the argument, print the result line; exit 0 (an env's error is part
    of the result)."""
    from mug.client.trajectory import run_request

    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    result = run_request(request)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The browser half of MUG.

Python modules here run inside Pyodide (in a Web Worker) and in CPython tests. They import only the standard
library, numpy, gymnasium and pettingzoo, never `mug.server`.
"""

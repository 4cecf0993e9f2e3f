"""The parts of `benchmarks/lobby_load.py`: server process, clients, participants, stages, diagnostics."""

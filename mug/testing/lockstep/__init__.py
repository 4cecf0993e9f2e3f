"""A harness for the sans-IO lockstep core in CPython: a seeded impaired network and a simulated clock.

Not part of the client wheel: the browser runs `mug.client.lockstep`, tests and benchmarks drive it with this.
"""

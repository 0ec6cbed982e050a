"""Developer tooling outside the service: launcher, simulator, stand-ins, data generators.

The launcher behind ``make``, the PostgreSQL URL helpers tests and benchmarks share, the
demo feed simulator, the FCM stand-in, the demo and benchmark data generators
(``python -m tools.demo``) and the README's architecture map (``python -m tools.architecture``).

Production code never imports this package: ``app/`` and ``worker/`` run without it, and
tools import ``app``, never the reverse.
"""

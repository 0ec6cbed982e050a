"""Developer tooling around Signale, outside the service: the launcher behind ``make``, the
PostgreSQL URL helpers tests and benchmarks share, the demo feed simulator, the FCM
stand-in, and the demo and benchmark data generators (``python -m tools.demo``).

Production code never imports this package: ``app/`` and ``worker/`` run without it, and
tools import ``app``, never the reverse.
"""

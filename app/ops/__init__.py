"""Running the service: health, readiness, metrics, logs, request ids, security headers."""

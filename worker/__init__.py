"""The rq worker: ``python -m worker`` runs it, with rq's scheduler for retries and delays."""

"""City sensor feeds: registry, adapters per format, polling, storage, fault mapping."""

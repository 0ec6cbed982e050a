"""Report photos: upload, processing in the worker (metadata stripped), storage, display."""

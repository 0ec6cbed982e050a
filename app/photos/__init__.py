"""A photo: processing in the worker (metadata stripped), its files, how it is shown."""

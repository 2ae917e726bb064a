"""One folder per algorithm, and the registry that names them (``registry.ALGORITHMS``)."""

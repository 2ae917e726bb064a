"""Names a package exports but imports on first use (a module ``__getattr__``, PEP 562),
so that importing the package loads none of them. Standard library only."""

import importlib


def lazy_exports(package: str, namespace: dict, exports: dict):
    """The module ``__getattr__`` of ``package`` (whose globals are ``namespace``) for
    ``exports``, ``{module: (name, ...)}``: a name is imported from its module when first
    asked for, then kept in ``namespace``."""
    module_of = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name):
        if name in module_of:
            value = getattr(importlib.import_module(module_of[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__

"""sc2sim: a testbed for split computing with supervised compression (SC2)."""

import warnings

# compressai 1.2.8 calls torch.jit.script at import time, which torch 2.14 deprecates: not ours to fix,
# and it would add two lines to every one-line error message.
warnings.filterwarnings("ignore", message=r"`torch.jit.script` is deprecated", category=FutureWarning)

__version__ = "0.1.0"

_API = ("load_scenario", "run", "Results")


def __getattr__(name: str):  # the Python API, imported on first use so `import sc2sim` stays light
    if name in _API:
        from sc2sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sc2sim' has no attribute {name!r}")


__all__ = ["__version__", *_API]

"""``python -m benchmarks``: see ``benchmarks.cli``."""

try:
    from .cli import main
except ImportError as missing:  # the [bench] extra: threadpoolctl and matplotlib
    raise SystemExit(f"python -m benchmarks: error: {missing}; pip install 'scratchnet[bench]'") from None

raise SystemExit(main())

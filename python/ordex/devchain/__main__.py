"""`python -m ordex.devchain [--host H] [--port P] [--home DIR]`: serve a dev chain until SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType

from ordex.devchain import start_devchain


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ordex.devchain")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    chain = start_devchain(args.home, port=args.port, host=args.host, serve=False)
    print(json.dumps({"url": chain.url, "startup_seconds": round(chain.startup_seconds, 2)}))
    sys.stdout.flush()
    try:
        chain.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        chain.stop()


if __name__ == "__main__":
    main()

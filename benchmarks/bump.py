"""`python -m benchmarks.bump`: `reconciler bump` over 50 watched entries against a
loopback upstream laid out as the real ones (tests/upstreams): 20 Debian releases, 10
Ubuntu releases with signed SHA256SUMS (gpgv per entry), 10 CentOS Stream entries
sharing one CHECKSUM, 10 GitHub-released projects. Whole processes (`bump --dry-run`,
so every run finds the same 50 updates), median of N; once on plain loopback and once
with a round trip added to every answer (a far upstream), which the concurrent fetches
absorb. Prints a Markdown table. No sandbox needed. Target (issue 23): under 5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.upstreams import layouts
from tests.upstreams.keys import Signer
from tests.upstreams.server import Upstream, running

ROOT = Path(__file__).resolve().parent.parent


def catalog(up: Upstream, signer: Signer, folder: Path) -> tuple[Path, int]:
    found = [
        layouts.debian(up, ["20261101-1000", "20261130-2000"], f"rel{i}", 13) for i in range(20)
    ]
    found += [layouts.ubuntu(up, signer, ["20261101", "20261124"], f"code{i}") for i in range(10)]
    centos = layouts.centos_stream(up, ["20261103.1", "20261124.0"])
    found += [layouts.github(up, ["v1.11.9", "v1.11.10"], f"org{i}/proj") for i in range(10)]
    (folder / "keyring.gpg").write_bytes(signer.public_key())
    text = "version: 1\ndefaults: {disk_format: raw, container_format: bare}\nimages:\n"
    entries = [(layout, f"{layout.name}-{n}") for n, layout in enumerate(found)]
    entries += [(centos, f"centos-{n}") for n in range(10)]
    for layout, name in entries:
        old = next(v for v in layout.images if v != layout.newest)
        watch = {k: v for k, v in layout.watch.items()}
        if "signature" in watch:
            watch["keyring"] = "keyring.gpg"
        text += (
            f"  - name: {name}\n    source:\n      url: {layout.url(old)}\n"
            f"      checksum: {layout.checksum(old)}\n      version: '{old}'\n      watch:\n"
            + "".join(f"        {k}: {v}\n" for k, v in watch.items())
        )
    path = folder / "images.yaml"
    path.write_text(text)
    return path, len(entries)


def run_once(path: Path) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "bump", "--dry-run", "--format", "json", str(path)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 2:
        raise SystemExit(f"bump exited {done.returncode}: {done.stderr or done.stdout}")
    report: dict[str, object] = json.loads(done.stdout)
    return elapsed, report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bump")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    signer = Signer("bench-signing")
    rows = []
    try:
        with running() as up, tempfile.TemporaryDirectory() as folder:
            path, count = catalog(up, signer, Path(folder))
            for label, delay in (
                ("loopback", 0.0),
                (f"+{args.latency_ms:.0f} ms a request", args.latency_ms / 1000),
            ):
                up.delay = delay
                times: list[float] = []
                report: dict[str, object] = {}
                for _ in range(args.repeat):
                    elapsed, report = run_once(path)
                    times.append(elapsed)
                rows.append(
                    f"| bump --dry-run, {count} entries, {label} | "
                    f"{statistics.median(times):.2f} s (min {min(times):.2f}) | "
                    f"{report['requests']} | {report['counts']} |"
                )
    finally:
        signer.close()
    print(f"| run | median of {args.repeat} (whole process) | upstream requests | result |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

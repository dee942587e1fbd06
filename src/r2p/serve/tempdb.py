"""A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) for tests and benchmarks.

:class:`TempPostgres` creates a cluster in a temporary folder, starts it on a free loopback
port (trust authentication, no fsync: nothing in it outlives the block) and removes it
afterwards. The binaries are looked up on ``PATH``, then in Debian's
``/usr/lib/postgresql/*/bin``. PostgreSQL refuses to run as root; as root the cluster runs as
the ``postgres`` user when there is one.

Example::

    with TempPostgres() as pg:
        store = ProfileStore(pg.url)
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from r2p.errors import ConfigError


def pg_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not
    installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempPostgres:
    """A PostgreSQL cluster for the life of a ``with`` block.

    Attributes:
        url: ``postgresql://postgres@127.0.0.1:PORT/postgres`` once started.

    Raises (on entry):
        ConfigError: PostgreSQL is not installed, or running as root with no ``postgres``
            user.
        RuntimeError: the cluster did not start (the message holds its log's tail).
    """

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise ConfigError("PostgreSQL is not installed (initdb and pg_ctl not found)")
        self.bindir = bindir
        self.port = 0
        self.url = ""
        self.root = Path(tempfile.mkdtemp(prefix="r2p-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.root, ignore_errors=True)
                raise ConfigError("PostgreSQL cannot run as root and there is no 'postgres' "
                                  "user") from None
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True,
                              text=True, check=check, timeout=120, cwd=self.root,
                              **self._as)

    def start(self) -> TempPostgres:
        """Create and start the cluster."""
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync")
            for _ in range(3):  # a port taken meanwhile: try another
                self.port = _free_port()
                opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                        "-c max_connections=200")
                r = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts,
                              "-w", "-t", "60", "start", check=False)
                if r.returncode == 0:
                    break
            else:
                raise RuntimeError(f"PostgreSQL did not start: {self._log_tail()}")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            self.stop()
            out = getattr(exc, "stderr", "") or ""
            raise RuntimeError(f"PostgreSQL did not start: {out.strip()[-500:]}") from None
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return self

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-500:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the cluster and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop",
                      check=False)
            deadline = time.monotonic() + 10
            while (self.data / "postmaster.pid").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


__all__ = ["TempPostgres", "pg_bindir"]

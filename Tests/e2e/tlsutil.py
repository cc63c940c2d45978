#!/usr/bin/env python3
"""A throw-away PKI for the TLS tests, made with the ``openssl`` command line.

    python Tests/e2e/tlsutil.py DIR      writes the files below into DIR

Files (PEM, P-256 keys):
  ca.pem / ca.key                 a test CA (not in any system trust store)
  server.pem / server.key         signed by it; SAN DNS:localhost, IP:127.0.0.1
  expired.pem / expired.key       same names, validity ended in 2020
  other.pem / other.key           signed by the CA for DNS:other.example only
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ThrowawayPKI:
    dir: Path

    def path(self, name: str) -> str:
        return str(self.dir / name)

    @property
    def ca(self) -> str:
        return self.path("ca.pem")

    def pair(self, name: str) -> tuple[str, str]:
        """(certificate, key) of "server", "expired" or "other"."""
        return self.path(f"{name}.pem"), self.path(f"{name}.key")


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def _key_and_csr(d: Path, name: str, cn: str) -> None:
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)


def make_pki(d: Path) -> ThrowawayPKI:
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=Lifeline Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    (d / "server.ext").write_text(
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (d / "other.ext").write_text(
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:other.example\n")
    for name, cn, ext in (("server", "localhost", "server.ext"), ("other", "other.example", "other.ext")):
        _key_and_csr(d, name, cn)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "30", "-out", f"{name}.pem", "-extfile", ext, cwd=d)
    # `openssl x509` cannot back-date; `openssl ca` can, given a minimal database.
    _key_and_csr(d, "expired", "localhost")
    (d / "index.txt").write_text("")
    (d / "serial").write_text("1000\n")
    (d / "ca.cnf").write_text(
        "[ca]\ndefault_ca = test\n"
        "[test]\ndatabase = index.txt\nserial = serial\nnew_certs_dir = .\n"
        "certificate = ca.pem\nprivate_key = ca.key\ndefault_md = sha256\npolicy = anything\n"
        "unique_subject = no\n"
        "[anything]\ncommonName = supplied\n")
    _openssl("ca", "-batch", "-config", "ca.cnf", "-notext", "-startdate", "20200101000000Z",
             "-enddate", "20200201000000Z", "-in", "expired.csr", "-out", "expired.pem",
             "-extfile", "server.ext", cwd=d)
    return ThrowawayPKI(d)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    pki = make_pki(Path(sys.argv[1]))
    print(pki.dir)

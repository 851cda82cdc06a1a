"""A throwaway certificate authority for TLS tests, made with the `openssl` command line.

`make_pki(folder)` writes a CA and two server certificates signed by it: one valid for the
loopback names (`localhost`, `127.0.0.1`, `::1`) and one valid only for `relay.medcom.dk`, to
show that the client checks the name as well as the signature. EC P-256 keys, so it takes a few
tens of milliseconds; make it once per session.
"""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

LOOPBACK_NAMES = "DNS:localhost,IP:127.0.0.1,IP:::1"
OTHER_NAME = "DNS:relay.medcom.dk"
DAYS = "2"
NEW_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


@dataclass(frozen=True)
class ServerCert:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting this certificate (no client certificates asked)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    loopback: ServerCert
    other_name: ServerCert


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(
        ["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=30
    )


def _server_cert(folder: Path, stem: str, names: str, ca: Path, ca_key: Path) -> ServerCert:
    key, csr, cert, ext = (folder / f"{stem}.{s}" for s in ("key", "csr", "pem", "ext"))
    ext.write_text(
        f"subjectAltName = {names}\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n",
        encoding="ascii",
    )
    _openssl(
        "req", "-new", *NEW_EC_KEY, "-keyout", key, "-out", csr, "-subj", f"/CN={stem}", cwd=folder
    )
    _openssl(
        *("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-days", DAYS, "-sha256"),
        *("-set_serial", "0x" + stem.encode().hex(), "-extfile", ext, "-out", cert),
        cwd=folder,
    )
    return ServerCert(cert=cert, key=key)


def make_pki(folder: Path) -> Pki:
    """Write a test CA and two server certificates it signed into `folder`."""
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    _openssl(
        *("req", "-x509", *NEW_EC_KEY, "-keyout", ca_key, "-out", ca, "-days", DAYS, "-sha256"),
        *("-subj", "/CN=FMK dispatcher test CA"),
        *("-addext", "basicConstraints = critical, CA:TRUE"),
        *("-addext", "keyUsage = critical, keyCertSign, cRLSign"),
        cwd=folder,
    )
    return Pki(
        ca_file=ca,
        loopback=_server_cert(folder, "loopback", LOOPBACK_NAMES, ca, ca_key),
        other_name=_server_cert(folder, "other-name", OTHER_NAME, ca, ca_key),
    )

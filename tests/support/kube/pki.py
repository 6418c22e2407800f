"""Throwaway PKI for the test control plane, made with the openssl CLI (the venv has no
`cryptography`): one CA, serving certificates, client certificates and the service-account key.

Used by controlplane.py only; every file lands in the directory it is given.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_DAYS = "30"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def make_ca(directory: Path) -> CertPair:
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        _DAYS,
        "-subj",
        "/CN=trainyard-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        cwd=directory,
    )
    return CertPair(directory / "ca.crt", directory / "ca.key")


def make_leaf(
    ca: CertPair, directory: Path, name: str, *, subject: str, server_names: tuple[str, ...] = ()
) -> CertPair:
    """A certificate signed by `ca`: a serving one when `server_names` (DNS names or IPs) are
    given, a client one otherwise. `subject` is an openssl subject such as `/O=system:masters/CN=x`."""
    ext = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
    if server_names:
        alt = ",".join(f"IP:{n}" if n.replace(".", "").isdigit() or ":" in n else f"DNS:{n}" for n in server_names)
        ext += ["extendedKeyUsage=serverAuth", f"subjectAltName={alt}"]
    else:
        ext += ["extendedKeyUsage=clientAuth"]
    (directory / f"{name}.ext").write_text("\n".join(ext) + "\n")
    _openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        "-subj",
        subject,
        cwd=directory,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        str(ca.cert),
        "-CAkey",
        str(ca.key),
        "-CAcreateserial",
        "-days",
        _DAYS,
        "-extfile",
        f"{name}.ext",
        "-out",
        f"{name}.crt",
        cwd=directory,
    )
    return CertPair(directory / f"{name}.crt", directory / f"{name}.key")


def make_service_account_key(directory: Path) -> Path:
    """An RSA key the apiserver signs service-account tokens with (and verifies them by)."""
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=directory)
    return directory / "sa.key"


def write_kubeconfig(path: Path, *, server: str, ca: Path, client: CertPair, user: str) -> Path:
    """A kubeconfig with absolute paths to the certificate files (so it can be copied elsewhere
    as long as the control plane's temp dir lives)."""
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: trainyard-test
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: {user}
  user:
    client-certificate: {client.cert}
    client-key: {client.key}
contexts:
- name: trainyard-test
  context:
    cluster: trainyard-test
    user: {user}
    namespace: default
current-context: trainyard-test
"""
    )
    return path

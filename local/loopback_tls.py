"""A throwaway certificate authority for HTTPS on loopback (tests and benchmarks).

``trustme`` makes the CA in memory at run time, so no key or certificate is
ever committed or reused: each ``LoopbackCA`` is new, and nothing outside the
process that made it trusts it. Servers present a certificate for
``127.0.0.1`` and ``localhost``; clients trust the CA and nothing else, either
through ``client_context()`` or through the PEM bundle ``write_bundle()``
writes, which is what the exchange function is pointed at with
``SSL_CERT_FILE``.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


class LoopbackCA:
    """One throwaway CA and the loopback server certificate it signed."""

    def __init__(self) -> None:
        self._ca = trustme.CA(organization_name="oauth-exchange throwaway test CA")
        self._server_cert = self._ca.issue_cert("127.0.0.1", "localhost")

    def server_context(self) -> ssl.SSLContext:
        """For a server on 127.0.0.1: presents the certificate this CA signed."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context (hostname checks included) that trusts only this CA."""
        return ssl.create_default_context(cadata=self._ca.cert_pem.bytes().decode("ascii"))

    def write_bundle(self, directory: Path) -> Path:
        """Write the CA certificate as a PEM bundle; returns its path (for ``SSL_CERT_FILE``)."""
        path = Path(directory) / "loopback-ca.pem"
        self._ca.cert_pem.write_to_path(str(path))
        return path

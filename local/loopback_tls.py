"""A throwaway certificate authority for HTTPS on loopback (tests and benchmarks).

``trustme`` makes the CA in memory at run time, so no key or certificate is
ever committed or reused: each ``LoopbackCA`` is new, and nothing outside the
process that made it trusts it. Servers present a certificate for
``127.0.0.1`` and ``localhost`` (or other names, to test host name checks);
clients trust the CA and nothing else, through ``client_context()`` or the
PEM bundle ``write_bundle()`` writes, which is what the exchange function is
pointed at with ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


LOOPBACK_NAMES = ("127.0.0.1", "localhost")


class LoopbackCA:
    """One throwaway CA and the server certificate it signed."""

    def __init__(self, server_names: tuple[str, ...] = LOOPBACK_NAMES) -> None:
        """``server_names``: what the server certificate is valid for (IP addresses or host names)."""
        self._ca = trustme.CA(organization_name="oauth-exchange throwaway test CA")
        self._server_cert = self._ca.issue_cert(*server_names)

    def server_context(self) -> ssl.SSLContext:
        """For a server: presents the certificate this CA signed."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context (hostname checks included) that trusts only this CA."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, PEM-encoded."""
        return self._ca.cert_pem.bytes()

    def write_bundle(self, directory: Path) -> Path:
        """Write the CA certificate as a PEM bundle; returns its path (for ``SSL_CERT_FILE``)."""
        path = Path(directory) / "loopback-ca.pem"
        path.write_bytes(self.cert_pem)
        return path

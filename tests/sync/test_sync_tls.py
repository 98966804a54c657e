"""TLS to the hub with the server's certificate checked (sslmode=verify-full): a hub whose certificate
a trust CA signed is reached, and the CA travels in the enrolment file to the new PC; a server with a
certificate from anyone else is refused before any credential or record is sent."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sync_support import first_pc, join, patient

from perfectcare_desktop.errors import HubUnreachable
from perfectcare_desktop.sync import hub_address


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert


def _server_cert(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def tls_hub(private_pg_cluster, tmp_path: Path):
    """A cluster serving TLS with a certificate for 'localhost' signed by a test trust CA."""
    cluster = private_pg_cluster
    ca_key, ca = _ca("Test Trust Root CA")
    cert, key = _server_cert(ca_key, ca)
    for name, data in (("server.crt", cert), ("server.key", key)):
        path = cluster.data / name
        path.write_bytes(data)
        path.chmod(0o600)
        if cluster.data.owner() == "postgres":
            shutil.chown(path, "postgres", "postgres")
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.write("\nssl = on\n")
    cluster.stop()
    cluster.start()
    ca_file = tmp_path / "trust-ca.pem"
    ca_file.write_bytes(_pem(ca))
    url = cluster.create_database("hub")
    return url, ca_file


def _verified(url: str, ca_file: Path) -> str:
    """The owner's address by host name, with full certificate checks against `ca_file`."""
    # hostaddr: the server listens on 127.0.0.1 only, and 'localhost' may resolve to ::1 first.
    return url.replace("@127.0.0.1:", "@localhost:") + f"?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca_file}"


def test_hub_over_verified_tls_and_the_ca_travels_with_enrolment(tls_hub, tmp_path: Path) -> None:
    url, ca_file = tls_hub
    secure = _verified(url, ca_file)
    with hub_address.connect(hub_address.parse(secure)) as conn:
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
    a = first_pc(tmp_path / "a", secure)
    b = join(a.session, secure, tmp_path / "b")
    # The new PC got the CA from the enrolment file; the admin's copy is not needed from now on.
    assert (tmp_path / "b" / "hub-ca.pem").read_bytes() == ca_file.read_bytes()
    ca_file.unlink()
    pid = a.session.patients.add(patient("Nia", "Wyn", "9434765919"))
    a.sync()
    b.sync()
    b.session.patients.reload()
    assert pid in {p.record_id for p in b.session.patients.all()}
    with b.client.connection(b.session.require_unlocked()).cursor() as cur:
        assert cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
    a.close()
    b.close()


def test_a_server_with_someone_elses_certificate_is_refused(tls_hub, tmp_path: Path) -> None:
    url, _ = tls_hub
    _, stranger = _ca("Someone Else's CA")
    other = tmp_path / "other-ca.pem"
    other.write_bytes(_pem(stranger))
    with pytest.raises(HubUnreachable, match="TLS"):
        hub_address.connect(hub_address.parse(_verified(url, other)))

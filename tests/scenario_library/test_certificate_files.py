"""Certificates from files: an architect's own IP-HTTPS chain (chain_file) and an export of a
client's root store (roots_file)."""

from cryptography.hazmat.primitives.serialization import Encoding

from sim.pki import Hierarchy

from .conftest import by_name, run_text

SCENARIO = """
name: own-certificates
duration: 120
server:
  iphttps: {{url: "https://da.contoso.com/IPHTTPS", certificate: mine}}
pki:
  certificates:
    mine: {{chain_file: {chain}}}
networks:
  hotel:
    nat: {{preset: port-restricted-cone}}
    firewall: {{default: deny, allow: [tcp/443, udp/53]}}
  corp: {{corporate: true}}
clients:
  - {{name: trusting, network: hotel, roots_file: {roots}}}
  - {{name: bare, network: hotel}}
"""


def test_chain_and_root_store_from_pem_files(tmp_path):
    made = Hierarchy.from_spec({
        "authorities": {"acme-root": {}, "acme-issuing": {"issuer": "acme-root"}},
        "certificates": {"da": {"issuer": "acme-issuing", "subject": "da.contoso.com"}}},
        "2026-06-01T09:00:00Z", cache=False)
    chain = tmp_path / "da-chain.pem"
    chain.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in made.chain("da")))
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "acme-root.cer").write_bytes(made.root_of("da").public_bytes(Encoding.DER))
    _, result = run_text(SCENARIO.format(chain=chain, roots=roots))
    clients = by_name(result)
    assert clients["trusting"]["method"] == "iphttps"
    assert not clients["bare"]["connected"]
    assert clients["bare"]["last_error"] == "0x800b0109"

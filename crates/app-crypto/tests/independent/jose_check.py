"""The independent side of crates/app-crypto/tests/independent.rs.

Reads a job (JSON) on standard input: keys from the sandbox PKI and tokens our Rust
code made. Writes (JSON) what it read from our tokens and tokens it made itself.
JOSE framing, JWS and the `dir`/`RSA-OAEP-256` JWEs are jwcrypto's; the 3DS ECDH
key derivation, which no JOSE library does, is written here from `docs/protocol.md`
(§6.1, §6.3) with `cryptography` and `hashlib`, not from our code.
"""

import base64
import hashlib
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, hmac, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from jwcrypto import jwe, jwk, jws
from jwcrypto.common import json_encode


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def kdf_3ds(z, party_v):
    """Concat KDF, SHA-256, one round: AlgorithmID and PartyUInfo empty."""
    other = b"\0\0\0\0" + b"\0\0\0\0" + len(party_v).to_bytes(4, "big") + party_v
    return hashlib.sha256(b"\0\0\0\1" + z + other + (256).to_bytes(4, "big")).digest()


def ec_public(jwk_dict):
    x = int.from_bytes(b64d(jwk_dict["x"]), "big")
    y = int.from_bytes(b64d(jwk_dict["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def ec_jwk(public_key):
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64e(numbers.x.to_bytes(32, "big")),
        "y": b64e(numbers.y.to_bytes(32, "big")),
    }


def cbc_hs256_decrypt(key, header_b64, iv, ciphertext, tag):
    mac = hmac.HMAC(key[:16], hashes.SHA256())
    aad = header_b64.encode()
    mac.update(aad + iv + ciphertext + (len(aad) * 8).to_bytes(8, "big"))
    if mac.finalize()[:16] != tag:
        raise ValueError("authentication tag mismatch")
    decryptor = Cipher(algorithms.AES(key[16:]), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def read_ec_device_data(token, key_pem, ds_id):
    header_b64, encrypted_key, iv, ciphertext, tag = token.split(".")
    header = json.loads(b64d(header_b64))
    assert header["alg"] == "ECDH-ES" and header["enc"] == "A128CBC-HS256", header
    assert encrypted_key == ""
    private = serialization.load_pem_private_key(key_pem.encode(), None)
    z = private.exchange(ec.ECDH(), ec_public(header["epk"]))
    cek = kdf_3ds(z, ds_id.encode())
    return cbc_hs256_decrypt(cek, header_b64, b64d(iv), b64d(ciphertext), b64d(tag)).decode()


def jwe_read(token, key):
    token_obj = jwe.JWE()
    token_obj.deserialize(token, key=key)
    return token_obj.payload.decode()


def jwe_make(plaintext, header, key):
    token_obj = jwe.JWE(plaintext.encode(), json_encode(header))
    token_obj.add_recipient(key)
    return token_obj.serialize(compact=True)


def oct_key(data):
    return jwk.JWK(kty="oct", k=b64e(data))


def read_signed(token, root_pem):
    """Verifies the x5c chain up to root_pem, then the signature with the leaf key."""
    header = json.loads(b64d(token.split(".")[0]))
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
    root = x509.load_pem_x509_certificate(root_pem.encode())
    for child, parent in zip(chain, chain[1:]):
        child.verify_directly_issued_by(parent)
    if chain[-1] != root:
        chain[-1].verify_directly_issued_by(root)
    signed = jws.JWS()
    signed.deserialize(token)
    signed.verify(jwk.JWK.from_pyca(chain[0].public_key()), alg=header["alg"])
    return {"alg": header["alg"], "payload": json.loads(signed.payload)}


def make_signed(payload, key_pem, chain_pem, alg):
    certs = x509.load_pem_x509_certificates(chain_pem.encode())
    x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in certs]
    signed = jws.JWS(json.dumps(payload).encode())
    signed.add_signature(
        jwk.JWK.from_pem(key_pem.encode()),
        alg=alg,
        protected=json_encode({"alg": alg, "x5c": x5c}),
    )
    return signed.serialize(compact=True)


def main():
    job = json.load(sys.stdin)
    ec_ds, rsa_ds = job["ds_ec"], job["ds_rsa"]
    session = bytes.fromhex(job["session_key_hex"])
    halves = {"sdk": session[:16], "acs": session[16:]}
    ours = job["ours"]
    read = {
        "device_ec": read_ec_device_data(ours["device_ec"], ec_ds["key_pem"], ec_ds["id"]),
        "device_rsa": jwe_read(ours["device_rsa"], jwk.JWK.from_pem(rsa_ds["key_pem"].encode())),
        "creq_cbc": jwe_read(ours["creq_cbc"], oct_key(session)),
        "creq_gcm": jwe_read(ours["creq_gcm"], oct_key(halves["sdk"])),
        "cres_cbc": jwe_read(ours["cres_cbc"], oct_key(session)),
        "cres_gcm": jwe_read(ours["cres_gcm"], oct_key(halves["acs"])),
        "signed": [read_signed(s["token"], s["root_pem"]) for s in ours["signed"]],
    }

    # Tokens made here, for our DS and ACS code to accept.
    info = job["device_info"]
    rsa_public = x509.load_pem_x509_certificate(rsa_ds["cert_pem"].encode()).public_key()
    ec_ds_public = x509.load_pem_x509_certificate(ec_ds["cert_pem"].encode()).public_key()
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    cek = kdf_3ds(ephemeral.exchange(ec.ECDH(), ec_ds_public), ec_ds["id"].encode())
    kid = job["acs_trans_id"]
    message = job["message"]
    made = {
        "device_rsa": jwe_make(
            info, {"alg": "RSA-OAEP-256", "enc": "A128CBC-HS256"}, jwk.JWK.from_pyca(rsa_public)
        ),
        # The variant one public SDK writes: alg dir, with the epk in the header.
        "device_ec_dir": jwe_make(
            info,
            {"alg": "dir", "enc": "A128CBC-HS256", "epk": ec_jwk(ephemeral.public_key())},
            oct_key(cek),
        ),
        "creq_cbc": jwe_make(message, {"alg": "dir", "enc": "A128CBC-HS256", "kid": kid}, oct_key(session)),
        "creq_gcm": jwe_make(message, {"alg": "dir", "enc": "A128GCM", "kid": kid}, oct_key(halves["sdk"])),
        "cres_cbc": jwe_make(message, {"alg": "dir", "enc": "A128CBC-HS256", "kid": kid}, oct_key(session)),
        "cres_gcm": jwe_make(message, {"alg": "dir", "enc": "A128GCM", "kid": kid}, oct_key(halves["acs"])),
        "signed": [
            make_signed(job["signed_payload"], s["key_pem"], s["chain_pem"], s["alg"])
            for s in job["signers"]
        ],
    }
    json.dump({"read": read, "made": made}, sys.stdout)


if __name__ == "__main__":
    main()

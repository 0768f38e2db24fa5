"""Crypto: secp256k1 ECDSA batch verification, key parsing, and deterministic
(RFC 6979) signing for test and demo data."""

from . import _zkclob

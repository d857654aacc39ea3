"""Encryption at rest for platform credentials, keyed from SECRET_KEY (or CREDENTIALS_KEY)."""
import base64
import hashlib
import json

from cryptography.fernet import Fernet
from flask import current_app


def _fernet() -> Fernet:
    secret = current_app.config["CREDENTIALS_KEY"] or current_app.config["SECRET_KEY"]
    key = base64.urlsafe_b64encode(hashlib.sha256(("govmedia-credentials:" + secret)
                                                  .encode("utf-8")).digest())
    return Fernet(key)


def encrypt(payload: dict) -> bytes:
    return _fernet().encrypt(json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def decrypt(ciphertext: bytes) -> dict:
    return json.loads(_fernet().decrypt(ciphertext).decode("utf-8"))

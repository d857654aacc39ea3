"""The security headers every answer carries: the pages', the API's and the callbacks' alike."""
from urllib.parse import urlsplit


def form_targets(config) -> str:
    """Where a form may lead: our pages, and the platform's sign-in page a sponsor's
    authorisation form is redirected to (a browser holds form-action to the redirect too)."""
    origins = ["'self'"]
    parts = urlsplit(config.get("DOUYIN_API_BASE_URL") or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return " ".join(origins)


def security_headers(config) -> dict[str, str]:
    """Built once per app from its settings (they do not change while it runs)."""
    return {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"frame-ancestors 'none'; form-action {form_targets(config)}; base-uri 'self'"),
    }

"""Response headers that keep pages from being framed, sniffed or run foreign scripts."""

from flask_login import current_user

#: Everything is served by the app itself: no CDN, no inline script.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
    ]
)


def set_headers(response):
    """Add the security headers to every response."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if "Cache-Control" not in response.headers and current_user and current_user.is_authenticated:
        # Pages of a signed-in user must not come back from the cache after sign-out;
        # responses that set their own policy (question images) keep it.
        response.headers["Cache-Control"] = "no-store"
    return response

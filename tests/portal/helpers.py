"""Checks shared by the portal's tests."""

from django.http import HttpResponseBase


def assert_security_headers(response: HttpResponseBase, where: str = "") -> None:
    """The headers every answer carries, whatever its kind: page, file, redirect or error."""
    policy = response.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy, where
    assert "frame-ancestors 'none'" in policy, where
    assert "unsafe-inline" not in policy, where
    assert response.get("X-Frame-Options") == "DENY", where
    assert "camera=()" in response.get("Permissions-Policy", ""), where
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert response.get("Referrer-Policy") == "same-origin", where
    assert response.get("Cross-Origin-Resource-Policy") == "same-origin", where

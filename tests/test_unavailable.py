"""A database that cannot be reached gives a clear 503, not a stack trace."""
from govmedia import create_app
from conftest import base_config


def test_database_down_answers_503_unavailable():
    app = create_app(base_config("postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2"))
    client = app.test_client()
    response = client.get("/api/v1/accounts", headers={"Authorization": "Bearer abc"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    page = client.post("/login", data={"username": "a", "password": "b"})
    assert page.status_code == 503 and "Traceback" not in page.get_data(as_text=True)


def test_security_headers_on_pages_and_api(client):
    for path in ("/login", "/api/v1/openapi.json"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]

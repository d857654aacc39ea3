"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from govmedia import create_app

app = create_app()

"""Registry pages: thin views that parse, call services and render."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required

bp = Blueprint("registry", __name__)


@bp.get("/")
@login_required
def home():
    return render_template("home.html")

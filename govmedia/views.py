"""Pages every user meets: login, logout, language, home."""
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .auth import authenticate
from .errors import DomainError
from .extensions import db

bp = Blueprint("web", __name__)


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired()])
    password = PasswordField("password", validators=[DataRequired()])


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login would help phishing. Browsers read a
    # backslash as a slash and drop tabs and newlines, so "/\evil" and "/\t/evil" are "//evil".
    if (target and target.startswith("/") and not target.startswith("//")
            and not any(c in target for c in "\\\t\r\n")):
        return target
    return url_for("registry.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data)
        except DomainError as err:
            db.session.rollback()
            error, status = err.code, err.status   # 401, or 429 while throttled
        else:
            db.session.commit()
            session.permanent = True
            login_user(user)
            if user.language in ("zh", "en") and "lang" not in session:
                session["lang"] = user.language   # a new device starts in their language
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    # The session lives in a signed cookie: a copy taken before logging out would go on
    # working until it expires. A new session version ends it (and this user's other
    # sessions); API tokens are not affected.
    current_user.session_version = (current_user.session_version or 1) + 1
    db.session.commit()
    logout_user()
    return redirect(url_for("web.login"))


@bp.get("/lang/<code>")
def set_language(code):
    if code in ("zh", "en"):
        session["lang"] = code
        if current_user.is_authenticated and current_user.language != code:
            current_user.language = code   # their e-mails follow it (govmedia.notify)
            db.session.commit()
    return redirect(_safe_next(request.referrer and "/" + request.referrer.split("/", 3)[-1]
                               if request.referrer else None))

"""The knowledge base's page (答复口径, seed 001 §32): the reference answers of the units in
reach, searched and paged; sponsors and editors add, edit, retire and restore them through the
same service functions as the API (interaction.answers)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.pagination import paginate
from govmedia.types import ascii_int
from registry.forms import domain_field_errors
from registry.services import UNIT_CHOICES_MAX, reaches_several_units, unit_choices
from registry.views.common import actor, arg_int

from . import answers

bp = Blueprint("interaction_answers", __name__)
FIELDS = ("unit_id", "topic", "question", "answer")


def _may_write() -> bool:
    return actor().has_role("sponsor", "editor")


def _list(values: dict | None = None, errors: dict | None = None, status: int = 200):
    q = (request.args.get("q") or "").strip()
    retired = request.args.get("retired") == "1"
    unit_id = arg_int("unit_id")
    page = paginate(answers.answers_query(actor(), unit_id=unit_id, include_retired=retired,
                                          q=q))
    return render_template("interaction/answers.html", answers=page.items, **page.nav, q=q,
                           retired=retired, unit_id=unit_id,
                           several_units=reaches_several_units(actor()),
                           unit_choices=unit_choices(actor(), UNIT_CHOICES_MAX),
                           may_write=_may_write(), values=values or {}, errors=errors or {}
                           ), status


@bp.get("/answers")
@login_required
def answer_list():
    return _list()


@bp.post("/answers")
@login_required
def answer_create():
    values = {name: request.form.get(name, "") for name in FIELDS}
    try:
        answers.save_answer(actor(), topic=values["topic"], answer=values["answer"],
                            question=values["question"],
                            unit_id=ascii_int(values["unit_id"].strip()))
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        return _list(values, domain_field_errors(err) or {"form": err.message}, 400)
    db.session.commit()
    flash(_("Saved as a reference answer."), "success")
    return redirect(url_for("interaction_answers.answer_list"))


@bp.route("/answers/<int:answer_id>", methods=["GET", "POST"])
@login_required
def answer_edit(answer_id):
    row = answers.get_answer(actor(), answer_id)
    values, errors, status = {"topic": row.topic, "answer": row.answer}, {}, 200
    if request.method == "POST":
        action = request.form.get("action")
        values = {"topic": request.form.get("topic", ""),
                  "answer": request.form.get("answer", "")}
        try:
            if action in ("retire", "restore"):
                answers.change_answer(actor(), row, retired=action == "retire")
            else:
                answers.change_answer(actor(), row, topic=values["topic"],
                                      answer=values["answer"])
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            errors, status = domain_field_errors(err) or {"form": err.message}, 400
        else:
            db.session.commit()
            flash({"retire": _("The answer is retired: it is no longer offered"),
                   "restore": _("The answer is offered again")}.get(action, _("Saved")),
                  "success")
            return redirect(url_for("interaction_answers.answer_edit", answer_id=row.id))
    return render_template("interaction/answer.html", row=row, values=values, errors=errors,
                           may_write=_may_write()), status

"""Who may call each route: the expectation table of tests/test_security_matrix.py.

Every (method, rule) of the app's URL map has one entry here; the matrix test fails on a
route without one, so a new endpoint cannot slip in unchecked. The roles come from the
contract and the issues, not from the code: shared/API.md ("Roles", each endpoint's role in
brackets), the issues' "What users can do" and the design notes in docs/ (cited in `why`).

Reading an entry:
- `roles`: the roles that may act on an object of their own unit (the callers of the matrix
  all belong to unit A, except admin and supervisor, who belong to none; the tree's callers,
  a supervisor or sponsor held at a unit above, beside or below A and B, reach that unit's
  subtree: issue 16, API.md Auth and users).
- `scope`:
  - "unit": called on unit A's object and on unit B's. A caller is allowed on a unit its
    roles reach: its own unit's subtree, every unit for an admin or supervisor held at none
    (403 forbidden otherwise, API.md); for lists, unit B means `?unit_id=B`.
  - "global": nothing of a unit is involved (or the unit is forced to the caller's own).
  - "public": no login needed; anonymous callers are allowed too.
  - "own_user": the caller's own object (allowed) and another user's (404: not even its
    existence is told, for anyone).
- `all_units`: the route covers every unit at once (the quarterly report, the publishing
  queue, the content-check lists): only a caller held at no unit may use it (issue 16).
- Anonymous callers get 401 from the API and a redirect to the login page from pages.
- Admins may act anywhere a role is required (docs/PUBLISHER.md: "admins may act anywhere"),
  except where the contract names a person rather than a role: only an article's drafter
  edits and submits it ("its drafter", API.md), so `roles` is {"editor"} there — the editor
  of unit A drafted unit A's articles — and an admin is refused like anyone else.
"""
from dataclasses import dataclass

ROLES = ("admin", "supervisor", "sponsor", "editor", "reviewer", "signer", "source")
EVERY_ROLE = frozenset(ROLES)


@dataclass(frozen=True)
class Expect:
    roles: frozenset
    scope: str
    why: str
    all_units: bool = False


def public(why: str) -> Expect:
    return Expect(EVERY_ROLE, "public", why)


def logged_in(why: str, scope: str = "global") -> Expect:
    return Expect(EVERY_ROLE, scope, why)


def unit(roles, why: str) -> Expect:
    return Expect(frozenset(roles) | {"admin"}, "unit", why)


def only(roles, why: str) -> Expect:
    return Expect(frozenset(roles) | {"admin"}, "global", why)


def everywhere(roles, why: str) -> Expect:
    """For those who reach every unit: an admin or supervisor held at no unit."""
    return Expect(frozenset(roles) | {"admin"}, "global", why, all_units=True)


def drafter(why: str) -> Expect:
    return Expect(frozenset({"editor"}), "unit", why)


READS = "API.md: reads need a login; non-admin, non-supervisor users see only their own unit"
SUPERVISOR = "API.md Roles: supervisor"
SPONSOR = "API.md Roles: sponsor registers and changes its unit's accounts, completes filings"
ADMIN = "API.md Auth and users: (admin); issue 2 Admin"
DRAFTER = "API.md: submit (its drafter); issue 4: the drafter edits, reviewers do not edit"
REVIEW = {
    "stage 2": unit({"reviewer"}, "API.md review (reviewer, then signer); issue 4 2nd review"),
    "stage 3": unit({"signer"}, "API.md review (reviewer, then signer); issue 4 sign-off"),
}
WITHDRAW = "API.md withdraw (editor, signer); issue 6 Withdrawal"
TASKS = "API.md Publishing tasks: POST /tasks/{id}/complete (sponsor, editor)"
RETRY = "API.md Roles: editor retries deliveries; docs/FANOUT.md retry (editor; admin)"
POSTS = "API.md Roles: sponsor records posts and statistics, editor records posts; issue 3"
IMPORT_JOB = "issue 2 bulk import is the sponsor's registration; a unit's sponsors share its imports"
RECT = "issue 3 Rectification: a supervisor orders, the unit answers, the supervisor closes/reopens"
NOTICES = "issue 5: sponsors amend their notices, supervisors withdraw with a reason"
REPORTS = "issue 3 quarterly inspection report: the county office's (supervisor)"
CHECKS = "issue 4: supervisors manage the word lists and severities (docs/PUBLISHER.md)"
TREE = "issue 16: a unit's parent within the creator's reach; a unit held at none for the top"
EVERY_UNIT = "; issue 16: it covers every unit, so only for those who reach them all"

REPORT = everywhere({"supervisor"}, REPORTS + EVERY_UNIT)
INSPECTION = ("issue 14 inspection moment (监测时间点): a supervisor lists the accounts of the "
              "units it reaches that fail the updates or interaction count at an instant")
PROFILES = ("issue 16 rule profiles per jurisdiction: the numbers in force at a node are "
            "read by anyone who reaches it; an admin sets a version at a node of its subtree")
ANNUAL = ("issue 16 annual report (seed 001 §42): supervisors, for a node of the tree they "
          "reach; the public sees it once issued")
SPOT = ("issue 16 quarterly spot check (rule 7): supervisors draw and read the samples of the "
        "nodes of the tree they reach")
APP = SPONSOR + "; issue 16: an app's filing number (网信备案号) and version"
WECHAT_MODE = SPONSOR + "; issue 15: a WeChat account's mode (发布 or 群发) and type"
VIDEO = "issue 15 video as content: editors (and source systems) upload an article's video"
VIDEO_READ = READS + "; issue 15: the reviewers of the uploader's unit play the video"
DOUYIN_AUTH = ("issue 15: the sponsor authorises the unit's Douyin account (OAuth code); "
               "API.md Roles: sponsor sets its accounts' credentials")
EVIDENCE = "issue 14: staff (sponsor, editor) record an update with its URL and a screenshot"
REJECT = "issue 14: a supervisor can reject evidence, which then stops counting"
CALLBACK = "API.md Interaction: the platform-facing callback URL, signed with the account's token"
REPLY = "API.md Interaction: POST /messages/{id}/reply (sponsor, editor)"
ANSWERS = "issue 14 knowledge base: those who answer the public (sponsor, editor) keep the answers"

EXPECTATIONS: dict[tuple[str, str], Expect | dict[str, Expect]] = {
    # --- public: no login (API.md Public, issue 5) --------------------------------------------
    ("GET", "/static/<path:filename>"): public("stylesheets, scripts and the favicon"),
    ("GET", "/healthz"): public("docs/DEPLOY.md: the proxy's health check, nothing but ok/down"),
    ("GET", "/login"): public("the login form"),
    ("POST", "/login"): public("logging in"),
    ("GET", "/lang/<code>"): public("choosing the language (issue 2: Chinese with English)"),
    ("GET", "/notices"): public("API.md Public: GET /notices"),
    ("GET", "/notices.atom"): public("API.md Public: GET /notices.atom"),
    ("GET", "/public"): public("issue 5: the public lookup"),
    ("GET", "/public/accounts/<int:account_id>"): public("issue 5: a public account page"),
    ("GET", "/public/data.csv"): public("issue 5: open data CSV"),
    ("GET", "/public/verify"): public("issue 12: the verification interface for people"),
    ("GET", "/public/data.json"): public("issue 5: open data JSON"),
    ("GET", "/api/v1/public/notices"): public("API.md Public"),
    ("GET", "/api/v1/public/accounts"): public("API.md Public"),
    ("GET", "/api/v1/public/accounts/<int:account_id>"): public("API.md Public (one account)"),
    ("GET", "/api/v1/public/verify"): public("API.md Public"),
    ("GET", "/api/v1/openapi.json"): public("API.md Conventions: no token for openapi.json"),
    ("POST", "/api/v1/auth/tokens"): public("API.md Conventions: no token to get a token"),
    # The platform calls these; the signature over the account's token is the check
    # (a wrong one: 403, tests/test_interaction.py).
    ("GET", "/callbacks/wechat/<int:account_id>"): public(CALLBACK),
    ("POST", "/callbacks/wechat/<int:account_id>"): public(CALLBACK),

    # --- any logged-in user ----------------------------------------------------------------
    ("POST", "/logout"): logged_in("logging out"),
    ("DELETE", "/api/v1/auth/tokens/current"): logged_in("API.md: revoke the request's token"),
    ("GET", "/"): logged_in(READS + " (home counts the user's scope)"),
    ("GET", "/holidays"): logged_in("issue 2: working days are shown to everyone"),
    ("POST", "/holidays"): only({"admin"}, "issue 2: holidays an admin has entered"),
    ("GET", "/profile"): logged_in("issue 12 Profile: one's own roles, unit, password"),
    ("POST", "/profile/password"): logged_in("issue 12 Profile: change one's own password"),
    ("POST", "/profile/sessions"): logged_in("issue 12 Profile: end one's other sessions"),
    ("POST", "/profile/notifications"): logged_in("issue 12 Notifications: turn kinds off"),
    ("PUT", "/api/v1/me/notification-settings"): logged_in("issue 12 Notifications"),
    ("GET", "/api/v1/me"): logged_in("issue 12 Profile"),
    ("POST", "/api/v1/me/password"): logged_in("issue 12 Profile: change one's own password"),
    ("POST", "/api/v1/me/sessions/end-others"): logged_in("issue 12 Profile: end other sessions"),
    ("GET", "/notifications"): logged_in("issue 3 Reminders: each user's notifications"),
    ("POST", "/notifications"): logged_in("issue 3 Reminders: mark read, e-mail address"),
    ("GET", "/api/v1/notifications"): logged_in("issue 3 Reminders"),
    ("POST", "/api/v1/notifications/<int:note_id>/read"): Expect(
        EVERY_ROLE, "own_user", "issue 3 Reminders: one user's own notification"),

    # --- registry: units and users (API.md Units; Auth and users) --------------------------
    ("GET", "/units"): logged_in(READS),
    ("GET", "/api/v1/units"): logged_in(READS),
    ("GET", "/units/<int:unit_id>"): logged_in(READS, "unit"),
    ("GET", "/api/v1/units/<int:unit_id>"): logged_in(READS, "unit"),
    ("GET", "/units/new"): only({"supervisor"}, "API.md POST /units (admin, supervisor)"),
    ("POST", "/units/new"): unit({"supervisor"}, "API.md POST /units (admin, supervisor); " + TREE),
    ("POST", "/api/v1/units"): unit({"supervisor"}, "API.md POST /units (admin, supervisor); "
                                    + TREE),
    ("GET", "/units/<int:unit_id>/edit"): unit({"supervisor"}, "as creating units"),
    ("POST", "/units/<int:unit_id>/edit"): unit({"supervisor"}, "as creating units"),
    ("PUT", "/api/v1/units/<int:unit_id>"): unit({"supervisor"}, "as creating units"),
    ("PATCH", "/api/v1/units/<int:unit_id>"): unit({"supervisor"}, "issue 16: re-parenting a "
                                                   "unit, within the actor's reach"),
    ("POST", "/units/<int:unit_id>/platform-exceptions"): unit(
        {"supervisor"}, "API.md platform-exceptions (supervisor)"),
    ("POST", "/api/v1/units/<int:unit_id>/platform-exceptions"): unit(
        {"supervisor"}, "API.md platform-exceptions (supervisor)"),
    ("GET", "/users"): only(set(), ADMIN),
    ("POST", "/users"): only(set(), ADMIN),
    ("GET", "/users/<int:user_id>"): unit(set(), ADMIN),
    ("POST", "/users/<int:user_id>"): unit(set(), ADMIN),
    ("POST", "/users/<int:user_id>/active"): unit(set(), ADMIN),
    ("POST", "/users/<int:user_id>/password"): unit(set(), ADMIN),
    ("GET", "/api/v1/users"): only(set(), ADMIN),
    ("POST", "/api/v1/users"): only(set(), ADMIN),
    ("GET", "/api/v1/users/<int:user_id>"): unit(set(), ADMIN),
    ("PATCH", "/api/v1/users/<int:user_id>"): unit(set(), ADMIN),
    ("GET", "/audit"): only({"supervisor"}, SUPERVISOR + " reads everything (the audit trail)"),

    # --- registry: accounts and filings ----------------------------------------------------
    ("GET", "/accounts"): logged_in(READS, "unit"),
    ("GET", "/api/v1/accounts"): logged_in(READS, "unit"),
    ("GET", "/accounts/<int:account_id>"): logged_in(READS, "unit"),
    ("GET", "/api/v1/accounts/<int:account_id>"): logged_in(READS, "unit"),
    ("GET", "/api/v1/accounts/<int:account_id>/events"): logged_in(READS, "unit"),
    ("GET", "/accounts/new"): only({"sponsor"}, SPONSOR),
    # The form registers in the sponsor's own unit whatever it is sent (issue 2 note).
    ("POST", "/accounts/new"): only({"sponsor"}, SPONSOR),
    ("POST", "/api/v1/accounts"): unit({"sponsor"}, SPONSOR),
    ("POST", "/accounts/<int:account_id>/events"): unit({"sponsor"}, SPONSOR),
    ("POST", "/api/v1/accounts/<int:account_id>/events"): unit({"sponsor"}, SPONSOR),
    ("PUT", "/api/v1/accounts/<int:account_id>/credentials"): unit(
        {"sponsor"}, SPONSOR + ", sets their credentials"),
    ("POST", "/api/v1/accounts/<int:account_id>/posts"): unit({"sponsor", "editor"}, POSTS),
    ("POST", "/api/v1/accounts/<int:account_id>/stats"): unit({"sponsor"}, POSTS),
    # --- activity: posts by origin, evidence (issue 14) ------------------------------------
    ("GET", "/api/v1/accounts/<int:account_id>/posts"): logged_in(READS, "unit"),
    ("POST", "/api/v1/accounts/<int:account_id>/evidence"): unit({"sponsor", "editor"},
                                                                   EVIDENCE),
    ("GET", "/api/v1/evidence"): logged_in(READS, "unit"),
    ("GET", "/api/v1/evidence/<int:evidence_id>/screenshot"): logged_in(READS, "unit"),
    ("POST", "/api/v1/evidence/<int:evidence_id>/reject"): unit({"supervisor"}, REJECT),
    # The page lists the caller's own unit's evidence (every unit's for those who see all).
    ("GET", "/evidence"): logged_in(READS),
    ("POST", "/evidence"): unit({"sponsor", "editor"}, EVIDENCE),
    ("GET", "/evidence/<int:evidence_id>/screenshot"): logged_in(READS, "unit"),
    ("POST", "/evidence/<int:evidence_id>/reject"): unit({"supervisor"}, REJECT),
    ("GET", "/filings"): logged_in(READS, "unit"),
    ("GET", "/filings/export.csv"): logged_in(READS, "unit"),
    ("GET", "/api/v1/filings"): logged_in(READS, "unit"),
    ("POST", "/filings/<int:filing_id>/complete"): unit({"sponsor"}, SPONSOR),
    ("POST", "/api/v1/filings/<int:filing_id>/complete"): unit({"sponsor"}, SPONSOR),

    # --- registry: bulk import (issue 2) ----------------------------------------------------
    ("GET", "/imports/new"): only({"sponsor"}, IMPORT_JOB),
    # Rows of another unit are refused row by row (tests/test_import.py).
    ("POST", "/imports"): only({"sponsor"}, IMPORT_JOB),
    ("POST", "/api/v1/imports"): only({"sponsor"}, IMPORT_JOB),
    ("GET", "/imports/<int:job_id>"): unit({"sponsor", "supervisor"}, IMPORT_JOB),
    ("GET", "/imports/<int:job_id>.json"): unit({"sponsor", "supervisor"}, IMPORT_JOB),
    ("GET", "/api/v1/imports/<int:job_id>"): unit({"sponsor", "supervisor"}, IMPORT_JOB),
    ("GET", "/imports/template.csv"): logged_in("a blank template"),
    ("GET", "/imports/template.xlsx"): logged_in("a blank template"),

    # --- notices (issue 5; docs/NOTICES.md) ---------------------------------------------------
    ("GET", "/notices/manage"): logged_in(READS),
    ("GET", "/api/v1/notices"): logged_in(READS),
    ("GET", "/notices/manage/<int:notice_id>"): logged_in(READS, "unit"),
    ("GET", "/api/v1/notices/<int:notice_id>"): logged_in(READS, "unit"),
    ("POST", "/notices/manage/<int:notice_id>/amend"): unit({"sponsor"}, NOTICES),
    ("POST", "/api/v1/notices/<int:notice_id>/amendments"): unit({"sponsor"}, NOTICES),
    ("POST", "/notices/manage/<int:notice_id>/withdraw"): unit({"supervisor"}, NOTICES),
    ("POST", "/api/v1/notices/<int:notice_id>/withdraw"): unit({"supervisor"}, NOTICES),
    ("GET", "/api/v1/accounts/<int:account_id>/takedown"): logged_in(READS, "unit"),
    ("POST", "/api/v1/accounts/<int:account_id>/takedown"): unit(
        {"sponsor"}, "issue 5: the sponsor's take-down checklist of an app"),
    ("POST", "/notices/manage/<int:notice_id>/takedown"): unit(
        {"sponsor"}, "issue 5: the sponsor's take-down checklist of an app"),
    ("POST", "/api/v1/takedown/<int:item_id>/done"): unit(
        {"sponsor"}, "issue 5: the sponsor ticks the take-down checklist"),
    ("POST", "/notices/manage/<int:notice_id>/takedown/<int:item_id>"): unit(
        {"sponsor"}, "issue 5: the sponsor ticks the take-down checklist"),

    # --- publisher (API.md Articles and publishing; issues 4 and 6) -------------------------
    ("GET", "/articles"): logged_in(READS),
    ("GET", "/api/v1/articles"): logged_in(READS, "unit"),
    ("GET", "/articles/queue"): logged_in("issue 4: each user sees what waits for them"),
    ("GET", "/articles/<int:article_id>"): logged_in(READS, "unit"),
    ("GET", "/articles/<int:article_id>/live.json"): logged_in(
        READS + " (issue 12: the article page's live delivery table)", "unit"),
    ("GET", "/publishing/queue/live.json"): only({"supervisor"}, "issue 12: the queue page's "
                                                                 "live counts (as the page)"),
    ("GET", "/api/v1/articles/<int:article_id>"): logged_in(READS, "unit"),
    ("GET", "/articles/<int:article_id>/cover"): logged_in(READS, "unit"),
    ("GET", "/api/v1/deliveries/<int:delivery_id>"): logged_in(READS, "unit"),
    ("POST", "/api/v1/articles"): unit({"editor", "source"}, "API.md POST /articles (editor, source)"),
    # The form is for people; a source system pushes with its review record through the API.
    ("GET", "/articles/new"): only({"editor"}, "issue 4: editors create an article (form and API)"),
    ("POST", "/articles/new"): only({"editor"}, "issue 4: editors create an article (form and API)"),
    ("GET", "/articles/<int:article_id>/edit"): drafter(DRAFTER),
    ("POST", "/articles/<int:article_id>/edit"): drafter(DRAFTER),
    ("PUT", "/api/v1/articles/<int:article_id>"): drafter(DRAFTER),
    ("POST", "/articles/<int:article_id>/submit"): drafter(DRAFTER),
    ("POST", "/api/v1/articles/<int:article_id>/submit"): drafter(DRAFTER),
    ("POST", "/articles/<int:article_id>/review"): REVIEW,
    # issue 12: whoever may act at the article's stage comments on a passage of it
    ("POST", "/articles/<int:article_id>/comments"): REVIEW,
    ("POST", "/api/v1/articles/<int:article_id>/comments"): REVIEW,
    ("GET", "/api/v1/articles/<int:article_id>/compare"): logged_in(READS, "unit"),
    ("GET", "/api/v1/articles/<int:article_id>/previews"): logged_in(READS, "unit"),
    ("POST", "/api/v1/articles/<int:article_id>/review"): REVIEW,
    ("POST", "/articles/<int:article_id>/withdraw"): unit({"editor", "signer"}, WITHDRAW),
    ("POST", "/api/v1/articles/<int:article_id>/withdraw"): unit({"editor", "signer"}, WITHDRAW),
    ("POST", "/deliveries/<int:delivery_id>/retry"): unit({"editor"}, RETRY),
    ("POST", "/api/v1/deliveries/<int:delivery_id>/retry"): unit({"editor"}, RETRY),
    ("GET", "/tasks"): logged_in("issue 15: the account's staff see their unit's publishing tasks"),
    ("GET", "/api/v1/tasks"): logged_in(READS, "unit"),
    ("GET", "/tasks/<int:task_id>/screenshot"): logged_in(READS, "unit"),
    ("POST", "/tasks/<int:task_id>/complete"): unit({"sponsor", "editor"}, TASKS),
    ("POST", "/api/v1/tasks/<int:task_id>/complete"): unit({"sponsor", "editor"}, TASKS),
    ("POST", "/api/v1/videos"): only({"editor", "source"}, VIDEO),
    ("GET", "/api/v1/videos/<int:video_id>"): logged_in(VIDEO_READ, "unit"),
    ("GET", "/api/v1/videos/<int:video_id>/file"): logged_in(VIDEO_READ, "unit"),
    ("POST", "/videos"): only({"editor"}, VIDEO + " (the editor page, with a progress bar)"),
    ("GET", "/videos/<int:video_id>/file"): logged_in(VIDEO_READ, "unit"),
    # issue 12: the editor's image button; the image is seen by its uploader's unit
    ("POST", "/articles/images"): only({"editor"}, "issue 4: editors write the body; issue 12: "
                                                    "images in the body from the editor"),
    ("POST", "/api/v1/articles/images"): only({"editor"}, "issue 4: editors write the body; "
                                                          "issue 12: images in the body by API"),
    ("GET", "/articles/images/<int:image_id>"): logged_in(
        READS + "; issue 12: the reviewers of the uploader's unit see the body's images",
        "unit"),
    ("GET", "/accounts/<int:account_id>/douyin/authorise"): unit({"sponsor"}, DOUYIN_AUTH),
    ("POST", "/accounts/<int:account_id>/douyin/authorise"): unit({"sponsor"}, DOUYIN_AUTH),
    ("GET", "/douyin/callback"): unit({"sponsor"}, DOUYIN_AUTH + " (the platform's redirect)"),
    ("GET", "/publishing/queue"): everywhere({"supervisor"}, "docs/FANOUT.md: /publishing/queue "
                                                              "(admin, supervisor)" + EVERY_UNIT),
    ("GET", "/api/v1/checks"): logged_in("the rules and severities every drafter meets"),
    ("GET", "/checks"): only({"supervisor"}, CHECKS),
    ("GET", "/api/v1/checks/lists/<name>"): only({"supervisor"}, CHECKS),
    ("POST", "/api/v1/checks/lists/<name>"): everywhere({"supervisor"}, CHECKS + EVERY_UNIT),
    ("POST", "/checks/lists/<name>"): everywhere({"supervisor"}, CHECKS + EVERY_UNIT),
    ("PUT", "/api/v1/checks/severities"): everywhere({"supervisor"}, CHECKS + EVERY_UNIT),
    ("POST", "/checks/severities"): everywhere({"supervisor"}, CHECKS + EVERY_UNIT),

    # --- interaction (API.md Interaction; issue 14) --------------------------------------------
    ("GET", "/api/v1/messages"): logged_in(READS, "unit"),
    ("GET", "/api/v1/messages/<int:message_id>"): logged_in(READS, "unit"),
    ("GET", "/inbox"): logged_in(READS, "unit"),
    ("POST", "/api/v1/messages/<int:message_id>/reply"): unit({"sponsor", "editor"}, REPLY),
    ("POST", "/inbox/<int:message_id>/reply"): unit({"sponsor", "editor"}, REPLY),
    # issue 14: a sponsor of the unit hands a message to one of its repliers
    ("POST", "/api/v1/messages/<int:message_id>/assign"): unit({"sponsor"}, REPLY),
    ("POST", "/inbox/<int:message_id>/assign"): unit({"sponsor"}, REPLY),
    ("GET", "/api/v1/messages/<int:message_id>/suggestions"): logged_in(READS, "unit"),
    ("GET", "/api/v1/answers"): logged_in(READS, "unit"),
    ("GET", "/api/v1/messages/stats"): logged_in(READS, "unit"),
    ("POST", "/api/v1/answers"): unit({"sponsor", "editor"}, ANSWERS),
    ("PATCH", "/api/v1/answers/<int:answer_id>"): unit({"sponsor", "editor"}, ANSWERS),
    ("POST", "/inbox/<int:message_id>/answer"): unit({"sponsor", "editor"}, ANSWERS),
    # the knowledge base's page: the same services as /api/v1/answers
    ("GET", "/answers"): logged_in(READS, "unit"),
    ("POST", "/answers"): unit({"sponsor", "editor"}, ANSWERS),
    ("GET", "/answers/<int:answer_id>"): logged_in(READS, "unit"),
    ("POST", "/answers/<int:answer_id>"): unit({"sponsor", "editor"}, ANSWERS),

    # --- supervision (API.md Supervision; issue 3) ------------------------------------------
    ("GET", "/supervision"): logged_in("issue 3: dashboard; a unit's own view for sponsors",
                                       "unit"),
    ("GET", "/accounts/picker.json"): logged_in(
        "issue 12: the account picker lists accounts of the caller's own units only"),
    ("GET", "/units/picker.json"): logged_in(
        "issue 12: the unit picker lists the caller's units; reach=all (a transfer's target) "
        "every unit's name, which the public registry shows anyway"),
    ("GET", "/supervision/dormant"): logged_in(READS, "unit"),
    ("GET", "/supervision/duplicates"): logged_in(READS, "unit"),
    ("GET", "/api/v1/supervision/dormant"): logged_in(READS, "unit"),
    ("GET", "/api/v1/supervision/duplicates"): logged_in(READS, "unit"),
    ("GET", "/api/v1/supervision/summary"): logged_in(READS, "unit"),
    ("GET", "/api/v1/supervision/trend"): logged_in(READS, "unit"),
    ("GET", "/api/v1/supervision/levels"): logged_in(READS + "; issue 16: one level of the "
                                                     "tree, from the top of the reach", "unit"),
    ("GET", "/supervision/post-logs"): only({"sponsor", "editor"}, POSTS),
    ("POST", "/supervision/post-logs"): unit({"sponsor", "editor"}, POSTS),
    ("POST", "/api/v1/supervision/post-logs"): unit({"sponsor", "editor"}, POSTS),
    ("GET", "/supervision/rectifications"): logged_in(READS, "unit"),
    ("GET", "/api/v1/supervision/rectifications"): logged_in(READS, "unit"),
    ("POST", "/supervision/rectifications"): unit({"supervisor"}, RECT),
    ("POST", "/api/v1/supervision/rectifications"): unit({"supervisor"}, RECT),
    ("GET", "/supervision/rectifications/<int:order_id>"): logged_in(READS, "unit"),
    ("GET", "/api/v1/supervision/rectifications/<int:order_id>"): logged_in(READS, "unit"),
    ("POST", "/supervision/rectifications/<int:order_id>"): {
        "answer": unit({"sponsor"}, RECT), "close": unit({"supervisor"}, RECT),
        "reopen": unit({"supervisor"}, RECT)},
    ("POST", "/api/v1/supervision/rectifications/<int:order_id>/answer"): unit({"sponsor"}, RECT),
    ("POST", "/api/v1/supervision/rectifications/<int:order_id>/close"): unit(
        {"supervisor"}, RECT),
    ("POST", "/api/v1/supervision/rectifications/<int:order_id>/reopen"): unit(
        {"supervisor"}, RECT),
    ("GET", "/supervision/reports"): REPORT,
    # issue 12: every supervision list as a file (what the reader may see of it), bulk orders
    # from the dormant list and "not a duplicate" decisions (a supervisor's, as orders are)
    ("GET", "/supervision/<any(dormant, duplicates, rectifications):name>.<any(xlsx, csv):ext>"): {
        "dormant.xlsx": logged_in(READS, "unit"), "duplicates.csv": logged_in(READS, "unit"),
        "rectifications.csv": logged_in(READS, "unit")},
    ("POST", "/supervision/dormant/orders"): unit({"supervisor"}, RECT),
    ("POST", "/api/v1/supervision/rectifications/bulk"): unit({"supervisor"}, RECT),
    ("POST", "/api/v1/supervision/duplicates/dismissals"): unit(
        {"supervisor"}, "issue 12: a supervisor decides a near-same pair is not a duplicate"),
    ("POST", "/supervision/duplicates/dismissals"): unit(
        {"supervisor"}, "issue 12: a supervisor decides a near-same pair is not a duplicate"),
    ("POST", "/supervision/reports"): REPORT,
    ("GET", "/supervision/reports/<int:report_id>.<any(xlsx, csv):ext>"): {
        "xlsx": REPORT, "csv": REPORT},
    ("POST", "/api/v1/supervision/reports"): REPORT,
    ("GET", "/api/v1/supervision/reports"): REPORT,
    ("GET", "/api/v1/supervision/reports/<int:report_id>"): REPORT,
    ("GET", "/api/v1/supervision/reports/<int:report_id>/xlsx"): REPORT,
    ("GET", "/api/v1/supervision/reports/<int:report_id>/csv"): REPORT,
    # issue 16: the annual report and apps' filing numbers
    ("GET", "/supervision/annual"): unit({"supervisor"}, ANNUAL),
    ("POST", "/supervision/annual"): unit({"supervisor"}, ANNUAL),
    ("GET", "/supervision/annual.xlsx"): unit({"supervisor"}, ANNUAL),
    ("GET", "/supervision/annual/<int:report_id>.xlsx"): unit({"supervisor"}, ANNUAL),
    ("GET", "/api/v1/supervision/annual"): unit({"supervisor"}, ANNUAL),
    ("POST", "/api/v1/supervision/annual"): unit({"supervisor"}, ANNUAL),
    ("GET", "/api/v1/supervision/annual-reports"): unit({"supervisor"}, ANNUAL),
    ("GET", "/api/v1/supervision/annual-reports/<int:report_id>"): unit({"supervisor"}, ANNUAL),
    ("GET", "/public/annual-reports"): public(ANNUAL),
    ("GET", "/public/annual-reports/<int:report_id>"): public(ANNUAL),
    ("GET", "/public/annual-reports/<int:report_id>.xlsx"): public(ANNUAL),
    # issue 14: the inspection moment, a supervisor's list of the accounts in reach
    ("GET", "/supervision/inspection"): unit({"supervisor"}, INSPECTION),
    ("GET", "/supervision/inspection.<any(xlsx, csv):ext>"): {
        "xlsx": unit({"supervisor"}, INSPECTION), "csv": unit({"supervisor"}, INSPECTION)},
    ("GET", "/api/v1/supervision/inspection"): unit({"supervisor"}, INSPECTION + " (its API)"),
    ("GET", "/supervision/spot-checks"): unit({"supervisor"}, SPOT),
    ("POST", "/supervision/spot-checks"): unit({"supervisor"}, SPOT),
    ("GET", "/supervision/spot-checks/<int:draw_id>"): unit({"supervisor"}, SPOT),
    ("GET", "/supervision/spot-checks/<int:draw_id>.xlsx"): unit({"supervisor"}, SPOT),
    ("POST", "/supervision/spot-checks/<int:draw_id>/void"): unit({"supervisor"}, SPOT),
    ("POST", "/api/v1/supervision/spot-checks/<int:draw_id>/void"): unit({"supervisor"}, SPOT),
    # issue 16: rule profiles per node: everyone reads the numbers of the units they reach,
    # supervisors see the page, admins set a version (of their subtree's nodes)
    ("GET", "/supervision/rule-profiles"): unit({"supervisor"}, PROFILES),
    ("POST", "/supervision/rule-profiles"): unit(set(), PROFILES),
    ("GET", "/api/v1/supervision/rule-profiles"): logged_in(PROFILES, "unit"),
    ("GET", "/api/v1/supervision/rule-profiles/history"): logged_in(PROFILES, "unit"),
    ("POST", "/api/v1/supervision/rule-profiles"): unit(set(), PROFILES),
    ("GET", "/api/v1/supervision/spot-checks"): unit({"supervisor"}, SPOT),
    ("POST", "/api/v1/supervision/spot-checks"): unit({"supervisor"}, SPOT),
    ("POST", "/accounts/<int:account_id>/app"): unit({"sponsor"}, APP),
    ("PUT", "/api/v1/accounts/<int:account_id>/app"): unit({"sponsor"}, APP),
    # issue 15: a WeChat account's mode (发布 or 群发) and type, set by its unit's sponsor
    ("POST", "/accounts/<int:account_id>/wechat"): unit({"sponsor"}, WECHAT_MODE),
    ("PUT", "/api/v1/accounts/<int:account_id>/wechat"): unit({"sponsor"}, WECHAT_MODE),
}


def cases(key) -> dict[str, Expect]:
    """An entry's cases by name; most routes have one, named after nothing."""
    entry = EXPECTATIONS[key]
    return entry if isinstance(entry, dict) else {"": entry}

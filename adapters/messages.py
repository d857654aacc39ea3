"""The platforms' error codes in the reader's language (issue 12).

A delivery keeps the platform's code and own text (Delivery.last_error_detail); the page, the
live answer and the API put them into words when they are read, through these msgids, in
Chinese or English as the reader chose. A code not listed here is shown as the code and the
platform's own text, quoted as what the platform said."""
from flask_babel import gettext

from govmedia.wording import N_, is_message, message


def step(what: str | dict) -> dict:
    """The step an error happened in, as a message: a msgid, or a message with parameters."""
    return what if is_message(what) else message(what)


# The words of the failures every platform's HTTP can have; `platform` is one of NAMES.
NAMES = {"wechat": N_("WeChat"), "weibo": N_("Weibo"), "douyin": N_("Douyin")}
MAY_HAVE_PUBLISHED = N_("%(platform)s did not answer clearly (%(step)s); it may have "
                        "published: checked with the platform first")
UNAVAILABLE = N_("%(platform)s is unavailable for now (HTTP %(status)s, %(step)s); retried later")
REFUSED = N_("%(platform)s refused the request (HTTP %(status)s, %(step)s); check the API "
             "address setting %(setting)s")
UNREADABLE = N_("%(platform)s answered something unreadable (%(step)s); retried later")
SYSTEM_ERROR = N_("%(platform)s had a system error (%(step)s); retried later")
ANSWERED_ERROR = N_("%(platform)s answered an error: %(said)s")


def about(platform: str, what: str | dict | None = None, **params) -> dict:
    """The parameters of the messages above: the platform's name and the step, as messages."""
    named = {"platform": message(NAMES[platform]), **params}
    return named if what is None else {**named, "step": step(what)}


WECHAT = {
    -1: N_("WeChat is busy; retried later"),
    40001: N_("The access token was refused; check the official account's AppID, AppSecret "
              "and API permissions"),
    40002: N_("Invalid grant_type"),
    40003: N_("The recipient's OpenID is invalid (not a follower of this official account)"),
    40004: N_("Invalid media file type"),
    40005: N_("Invalid file type (pictures must be jpg, png or similar)"),
    40006: N_("Invalid file size"),
    40007: N_("Invalid media_id (the material or draft does not exist or was already used)"),
    40009: N_("The picture is too large"),
    40013: N_("Invalid AppID"),
    40014: N_("The access token was refused; check the official account's AppID, AppSecret "
              "and API permissions"),
    40113: N_("Unsupported file type"),
    40125: N_("Invalid AppSecret"),
    40164: N_("The server's IP address is not on the official account's IP allow-list; add it "
              "under Settings and development, Basic configuration on the WeChat platform"),
    41002: N_("The AppID is missing"),
    41004: N_("The AppSecret is missing"),
    41005: N_("The media file data is missing"),
    42001: N_("The access token was refused; check the official account's AppID, AppSecret "
              "and API permissions"),
    43004: N_("The recipient does not follow the official account or has unfollowed it"),
    44001: N_("The media file is empty"),
    44003: N_("The article has no content"),
    45001: N_("The media file is too large"),
    45002: N_("The content is too long"),
    45003: N_("The title is too long (at most 64 characters)"),
    45004: N_("The digest is too long (at most 128 characters)"),
    45005: N_("The link is too long"),
    45008: N_("Too many articles in one message"),
    45009: N_("The daily call quota is used up; retried when the quota resets"),
    45011: N_("Calls too frequent (per-minute quota); retried later"),
    45015: N_("Reply window passed: customer-service messages can only be sent within 48 hours "
              "of the user's last message"),
    45028: N_("No mass-send quota left for this period"),
    45047: N_("Too many customer-service messages: at most 5 replies after a user's message"),
    45065: N_("A mass send with the same clientmsgid already exists"),
    45066: N_("Mass sends too frequent; retried in a minute"),
    48001: N_("The API is not authorised for this official account; check the API permissions "
              "in the developer centre of the WeChat platform"),
    48004: N_("This API has been blocked; log in to the WeChat platform for details"),
    50002: N_("The official account is restricted, possibly blocked for a violation"),
    53503: N_("The draft did not pass the publishing check; check its content"),
    53504: N_("This draft must be used on the WeChat platform's website"),
    53505: N_("Save the draft manually on the WeChat platform's website before publishing it"),
    53600: N_("Invalid Article ID"),
    45067: N_("The clientmsgid is too long"),
    89506: N_("The account's administrator refused this call (risky-operation protection); try "
              "again in 24 hours and talk to the administrator first"),
    89507: N_("The account's administrator refused this call (risky-operation protection); try "
              "again in an hour and talk to the administrator first"),
    "publish_status=2": N_("The claim of originality failed"),
    "publish_status=3": N_("Publishing failed (a general failure)"),
    "publish_status=4": N_("The platform's review refused it"),
    "publish_status=5": N_("Deleted by the account after it was published"),
    "publish_status=6": N_("Blocked by the platform after it was published"),
}

WEIBO = {
    10002: N_("The Weibo service is paused; retried later"),
    10004: N_("The server's IP address is restricted and cannot request this resource"),
    10005: N_("This API needs the application to be authorised"),
    10008: N_("Parameter error"),
    10009: N_("Weibo has too many tasks and is busy; retried later"),
    10013: N_("Not a valid Weibo user"),
    10014: N_("The application lacks the permission (its API access is restricted)"),
    10016: N_("A required parameter is missing"),
    10017: N_("Invalid parameter value (the shared text must contain a link under the "
              "application's safe domain)"),
    10018: N_("The request is too long"),
    10020: N_("The API does not exist; check WEIBO_API_BASE_URL"),
    10022: N_("Too many requests from this IP address; retried later"),
    10023: N_("Too many requests from this user; retried later"),
    10024: N_("Too many requests from this user to this API; retried later"),
    20003: N_("The user does not exist"),
    20005: N_("Unsupported picture type; only JPG, GIF and PNG"),
    20006: N_("The picture is too large (at most 5 MB)"),
    20007: N_("The picture must be uploaded as multipart"),
    20008: N_("The content is empty"),
    20012: N_("The text is too long (at most 140 characters)"),
    20015: N_("The account, IP address or application is not allowed to do this for now"),
    20016: N_("Posting too frequently; retried later"),
    20017: N_("Repeated content (similar to something already posted)"),
    20018: N_("Contains an illegal link"),
    20019: N_("Repeated content (the same as something already posted)"),
    20020: N_("Contains advertising"),
    20021: N_("Contains illegal content"),
    20022: N_("Unusual activity from this IP address"),
    20031: N_("A verification code is needed; log in to Weibo to deal with it"),
    20032: N_("Weibo took the post but its server is slow; checked with the platform first"),
    20034: N_("The account is locked; log in to Weibo to deal with it"),
    20101: N_("The post does not exist"),
    20102: N_("The post was not published by this account"),
    20111: N_("Repeated content (the same post cannot be published twice)"),
    20201: N_("The comment does not exist (it may have been deleted)"),
    21301: N_("Authentication failed"),
    21314: N_("The Weibo authorisation token was already used; the sponsor must authorise again"),
    21315: N_("The Weibo authorisation token has expired; the sponsor must authorise again"),
    21316: N_("The Weibo authorisation token is invalid; the sponsor must authorise again"),
    21317: N_("The Weibo authorisation token is invalid; the sponsor must authorise again"),
    21319: N_("The Weibo authorisation was revoked; the sponsor must authorise again"),
    21321: N_("An unreviewed application has exceeded its user limit"),
    21327: N_("The Weibo authorisation token has expired; the sponsor must authorise again"),
    21332: N_("The Weibo authorisation token is no longer valid; the sponsor must authorise "
              "again"),
    21337: N_("The application lacks the permission"),
}

DOUYIN = {
    10004: N_("The application lacks the permission (apply for the capability on the Douyin "
              "open platform)"),
    10005: N_("A parameter is missing"),
    10007: N_("The authorisation code is invalid or has expired; authorise again"),
    10010: N_("The Douyin authorisation has lapsed (the refresh_token has expired); the sponsor "
              "must authorise again"),
    10020: N_("The Douyin authorisation has lapsed (the refresh_token has been refreshed too "
              "often); the sponsor must authorise again"),
    2100004: N_("Douyin is busy; retried later"),
    2100005: N_("Parameter error"),
    2100007: N_("Calls too frequent; retried later"),
    2100009: N_("The user is banned and cannot publish"),
    2190002: N_("The Douyin access_token is invalid; the sponsor must authorise again"),
    2190004: N_("The application is not authorised for this capability (scope)"),
    2190008: N_("The Douyin access_token has expired; the sponsor must authorise again"),
    2190015: N_("The client_key does not match the access_token; check DOUYIN_CLIENT_KEY"),
    2190016: N_("The Douyin authorisation has lapsed (the user cancelled it); the sponsor must "
                "authorise again"),
    28001003: N_("The Douyin access_token is invalid; the sponsor must authorise again"),
    28001005: N_("Douyin had an internal error; retried later"),
    28001008: N_("The Douyin access_token has expired; the sponsor must authorise again"),
}

BY_PLATFORM = {"wechat": WECHAT, "weibo": WEIBO, "douyin": DOUYIN}


def known_msgid(platform: str, code) -> str | None:
    """The msgid of a platform's error code, None for a code not listed."""
    table = BY_PLATFORM.get(platform) or {}
    if code in table:
        return table[code]
    try:
        return table.get(int(code))
    except (TypeError, ValueError):
        return None


def platform_error_text(platform: str, code, platform_message: str | None = None) -> str | None:
    """A platform's error in the reader's language: a known code in words, an unknown one as
    its code and the platform's own text quoted; None without a code."""
    if code in (None, ""):
        return None
    msgid = known_msgid(platform, code)
    if msgid is not None:
        return gettext("%(text)s (platform code %(code)s)", text=gettext(msgid), code=code)
    if platform_message:
        return gettext("The platform answered code %(code)s: “%(message)s”", code=code,
                       message=platform_message)
    return gettext("The platform answered code %(code)s", code=code)

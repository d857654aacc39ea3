"""WeChat's error codes and what each means for a delivery: retried, failed, or a token problem."""
from .messages import N_, WECHAT

TOKEN_ERRORS = {40001, 40014, 42001}

# Codes that prove the platform did not do the work: retry later (hint in seconds). Their
# words, like every code's, are in adapters/messages.py (WECHAT).
RETRYABLE = {-1: None, 45009: 3600.0, 45011: 60.0, 45066: 60.0}

# Content, permission and configuration errors: never retried; shown to the editor.
PERMANENT = {40004, 40005, 40006, 40007, 40009, 40113, 40164, 41005, 44001, 44003, 45001,
             45002, 45003, 45004, 45005, 45008, 45028, 45065, 45067, 48001, 48004, 50002,
             53503, 53504, 53505, 53600, 89506, 89507}

# Mass send (message/mass/sendall). 45065: a send with this clientmsgid exists (the answer
# names its msg_id): already sent. 89503 "此次调用需要管理员确认，请耐心等候": the account has
# 群发保护 (风险操作保护) on and an administrator must confirm on their phone; 89504 is the
# code one public tool reports for the same wait, taken alike (docs/ADAPTERS.md).
MASS_CLIENTMSGID_EXISTS = 45065
MASS_AWAITING_CONFIRMATION = (89503, 89504)
MASS_CONFIRM_CHECK_SECONDS = 60.0  # 45066: the same clientmsgid not again within a minute

# Errors of the token endpoint: the account's AppID/AppSecret or the server's IP are wrong.
# 40001 there means the AppSecret itself is wrong (elsewhere: the token was refused).
TOKEN_FETCH = {40001: N_("The AppSecret is wrong or does not belong to this official account"),
               40002: WECHAT[40002], 40013: WECHAT[40013], 40125: WECHAT[40125],
               40164: WECHAT[40164], 41002: WECHAT[41002], 41004: WECHAT[41004]}

# publish_status of freepublish/get that end a publish (words: WECHAT["publish_status=N"]).
PUBLISH_FAILED = {2, 3, 4, 5, 6}

# Customer-service messages (message/custom/send): why WeChat refused a reply.
REPLY_WINDOW_CLOSED = 45015
CUSTOM_SEND = {40003, 43004, REPLY_WINDOW_CLOSED, 45047, 48001}

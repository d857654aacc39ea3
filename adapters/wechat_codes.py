"""WeChat's error codes and what each means for a delivery: retried, failed, or a token problem."""

TOKEN_ERRORS = {40001, 40014, 42001}

# Codes that prove the platform did not do the work: retry later (hint in seconds).
RETRYABLE = {
    -1: ("微信平台系统繁忙，稍后重试", None),
    45009: ("接口调用已达今日上限（每日配额），配额重置后重试", 3600.0),
    45011: ("接口调用过于频繁（分钟配额），稍后重试", 60.0),
    45066: ("群发请求过于频繁，请一分钟后重试", 60.0),
}

# Content, permission and configuration errors: never retried; shown to the editor.
PERMANENT = {
    40004: "不合法的媒体文件类型",
    40005: "不合法的文件类型（图片仅支持 jpg/png 等格式）",
    40006: "不合法的文件大小",
    40007: "无效的 media_id（素材或草稿不存在或已被使用）",
    40009: "图片大小超过限制",
    40113: "不支持的文件类型",
    40164: "服务器 IP 不在公众号的 IP 白名单中，请在公众平台「设置与开发—基本配置」中添加",
    41005: "缺少多媒体文件数据",
    44001: "多媒体文件为空",
    44003: "图文消息内容为空",
    45001: "多媒体文件大小超过限制",
    45002: "内容过长",
    45003: "标题过长（不超过 64 个字）",
    45004: "摘要过长（不超过 128 个字）",
    45005: "链接过长",
    45008: "图文消息超过限制",
    45028: "群发次数已用完（本期群发配额不足）",
    45065: "相同 clientmsgid 已存在群发记录",
    45067: "clientmsgid 长度超过限制",
    48001: "api功能未授权（公众号未获得该接口权限，请在公众平台开发者中心查看接口权限）",
    48004: "该接口已被封禁，请登录公众平台查看详情",
    50002: "公众号受限，可能因违规被封禁接口",
    53503: "该草稿未通过发布检测，请检查内容",
    53504: "需前往公众平台官网使用该草稿",
    53505: "请前往公众平台官网手动保存草稿成功后再发表",
    53600: "Article ID 无效",
    89506: "该调用已被公众号管理员拒绝（风险操作保护），请 24 小时后再试，调用前请与管理员沟通确认",
    89507: "该调用已被公众号管理员拒绝（风险操作保护），请 1 小时后再试，调用前请与管理员沟通确认",
}

# Mass send (message/mass/sendall). 45065: a send with this clientmsgid exists (the answer
# names its msg_id): already sent. 89503 "此次调用需要管理员确认，请耐心等候": the account has
# 群发保护 (风险操作保护) on and an administrator must confirm on their phone; 89504 is the
# code one public tool reports for the same wait, taken alike (docs/ADAPTERS.md).
MASS_CLIENTMSGID_EXISTS = 45065
MASS_AWAITING_CONFIRMATION = (89503, 89504)
MASS_CONFIRM_CHECK_SECONDS = 60.0  # 45066: the same clientmsgid not again within a minute

# Errors of the token endpoint: the account's AppID/AppSecret or the server's IP are wrong.
TOKEN_FETCH = {
    40001: "AppSecret 错误，或 AppSecret 不属于该公众号",
    40002: "grant_type 不合法",
    40013: "AppID 无效",
    40125: "AppSecret 无效",
    40164: PERMANENT[40164],
    41002: "缺少 AppID",
    41004: "缺少 AppSecret",
}

PUBLISH_FAILED = {
    2: "原创声明失败",
    3: "发布失败（常规失败）",
    4: "平台审核不通过",
    5: "发布成功后已被用户删除",
    6: "发布成功后被系统封禁",
}

# Customer-service messages (message/custom/send): why WeChat refused a reply.
REPLY_WINDOW_CLOSED = 45015
CUSTOM_SEND = {
    40003: "接收人 OpenID 无效（不是该公众号的粉丝）",
    43004: "接收人未关注公众号或已取消关注",
    REPLY_WINDOW_CLOSED: "回复时间超过限制：客服消息只能在用户最后一次发来消息后 48 小时内发送",
    45047: "客服消息条数超过限制：用户发来消息后最多可回复 5 条",
    48001: PERMANENT[48001],
}

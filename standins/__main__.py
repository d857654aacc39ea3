"""`python -m standins --port 8765`: the stand-in platforms in the foreground, logging requests."""
from __future__ import annotations

import argparse

from werkzeug.serving import make_server

from standins.app import make_app
from standins.common import LABEL
from standins.store import DEFAULT_DOUYIN_APPS, DEFAULT_WEIBO_TOKENS, DEFAULT_WECHAT_APPS


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Stand-in WeChat and Weibo platforms")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state", default=None,
                        help="a file that keeps the posts across restarts (the embedded run "
                             "passes instance/standins-state.pickle)")
    args = parser.parse_args(argv)
    app = make_app(state_path=args.state)
    server = make_server(args.host, args.port, app, threaded=True)
    appid, secret = next(iter(DEFAULT_WECHAT_APPS.items()))
    print(f"stand-in platforms on http://{args.host}:{server.server_port}/ ({LABEL})\n"
          f"  WECHAT_API_BASE_URL=WEIBO_API_BASE_URL=DOUYIN_API_BASE_URL="
          f"http://{args.host}:{server.server_port}\n"
          f"  WeChat app_id={appid} app_secret={secret}\n"
          f"  Weibo access_token={next(iter(DEFAULT_WEIBO_TOKENS))}\n"
          f"  Douyin DOUYIN_CLIENT_KEY={next(iter(DEFAULT_DOUYIN_APPS))} "
          f"DOUYIN_CLIENT_SECRET={next(iter(DEFAULT_DOUYIN_APPS.values()))}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

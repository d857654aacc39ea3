"""The registry: units, accounts, lifecycle events and their filings."""


def init_app(app) -> None:
    from govmedia.views import bp as web_bp

    from .api import bp as api_bp
    from .import_views import bp as imports_bp
    from .views import bp as views_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(views_bp)
    app.register_blueprint(imports_bp)
    from . import supervision

    supervision.init_app(app)

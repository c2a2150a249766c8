"""The partnership's safeguarding training platform."""
from __future__ import annotations

from flask import Flask

from .cache import register_cache
from .cli import register_cli
from .config import build_config
from .web import (
    TrainingApp,
    register_blueprints,
    register_error_handlers,
    register_extensions,
    register_notifications,
    register_security,
    register_static,
    register_templates,
    register_url_converters,
)


def create_app(config: dict | None = None) -> Flask:
    """Build the application; `config` overrides settings read from the environment."""
    app = TrainingApp(__name__, instance_relative_config=True, static_folder="../static",
                      template_folder="../templates")
    app.config.from_mapping(build_config(app.instance_path, config))
    register_url_converters(app)
    register_extensions(app)
    register_cache(app)
    register_templates(app)
    register_static(app)
    register_security(app)
    register_blueprints(app)
    register_notifications(app)
    register_error_handlers(app)
    register_cli(app)
    return app

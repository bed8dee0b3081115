"""reporter: secure incident reporting for peacebuilders and human-rights defenders."""

from __future__ import annotations

from typing import Any

from flask import Flask

from reporter import config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the application: configuration, extensions, blueprints, CLI and security headers."""
    from reporter import cli, web
    from reporter.evidence.store import store_of
    from reporter.extensions import babel, compress, csrf, db, limiter
    from reporter.keyring import load_keyring
    from reporter.resources import static_folder, template_folder
    from reporter.web import context, maintenance

    app = Flask(
        __name__,
        instance_path=config.default_instance_path(),
        instance_relative_config=True,
        template_folder=template_folder(),
        static_folder=static_folder(),
    )
    config.load(app, test_config)
    keyring = load_keyring(app.config["REPORTER_KEYS_PATH"], secret_key=app.config["REPORTER_SECRET_KEY"])
    config.check_secret(keyring.secret_key, testing=app.testing)
    app.secret_key = keyring.secret_key
    config.use_secret_fallbacks(app, keyring.secret_key_fallbacks)
    context.install(app, keyring=keyring, store=store_of(app.config, app.instance_path))
    db.init_app(app, audit_signer=keyring.audit_signing_key, record_keys=keyring.record_keys(),
                notify=bool(app.config["REPORTER_SMTP_URL"]))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=web.i18n.select_locale)
    limiter.init_app(app)
    compress.init_app(app)
    web.register(app)
    maintenance.install(app)
    cli.register(app)
    return app

"""Stages and payments: local and dev keep the fake provider; prod pays through Stripe, whose
secret key is read from Secrets Manager (never the environment), and refuses to start, or to
be packaged, without Stripe configured, saying what is missing."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from chalicelib.settings import Settings, StageMisconfigured
from devtools.package import check_stage, package
from tests.stripe_fake import SECRET_KEY, VISA, StripeServer

ROOT = Path(__file__).resolve().parent.parent
STRIPE_VARIABLES = ("PAYMENT_PROVIDER", "STRIPE_API_KEY_SECRET", "STRIPE_WEBHOOK_SECRET")


def test_local_and_dev_keep_the_fake_provider_and_prod_needs_stripe():
    assert Settings.from_env({"CHOWLINE_STAGE": "local"}).require_complete().payment_provider == "fake"
    assert Settings.from_env({"CHOWLINE_STAGE": "dev"}).require_complete().payment_provider == "fake"
    with pytest.raises(StageMisconfigured) as refused:
        Settings.from_env({"CHOWLINE_STAGE": "prod"}).require_complete()
    message = str(refused.value)
    assert "STRIPE_API_KEY_SECRET" in message and "STRIPE_WEBHOOK_SECRET" in message
    assert "Secrets Manager" in message
    with pytest.raises(StageMisconfigured, match="PAYMENT_PROVIDER=stripe"):
        Settings.from_env({"CHOWLINE_STAGE": "prod", "PAYMENT_PROVIDER": "fake"}).require_complete()
    configured = {"CHOWLINE_STAGE": "prod", "STRIPE_API_KEY_SECRET": "k", "STRIPE_WEBHOOK_SECRET": "w"}
    assert Settings.from_env(configured).require_complete().payment_provider == "stripe"


def test_a_prod_function_refuses_to_run_without_stripe():
    env = {k: v for k, v in os.environ.items() if k not in STRIPE_VARIABLES}
    env["CHOWLINE_STAGE"] = "prod"
    probe = "import app; app.payment({'op': 'void', 'order_id': 'ord_x'}, None)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "StageMisconfigured: The prod stage cannot start without Stripe configured" in result.stderr
    assert "STRIPE_API_KEY_SECRET" in result.stderr


def test_packaging_prod_refuses_without_stripe(tmp_path):
    check_stage(ROOT, "prod")  # the repository's prod stage is configured
    check_stage(ROOT, "dev")
    (tmp_path / ".chalice").mkdir()
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    variables = config["stages"]["prod"]["environment_variables"]
    for name in STRIPE_VARIABLES[1:]:
        variables.pop(name)
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit) as refused:
        package(tmp_path, "prod", tmp_path / "dist")
    assert "Not packaging stage prod" in str(refused.value) and "STRIPE_WEBHOOK_SECRET" in str(refused.value)
    assert not (tmp_path / "dist").exists(), "refused before anything was built"
    variables.update({"STRIPE_API_KEY_SECRET": "stripe-key", "STRIPE_WEBHOOK_SECRET": "chowline-prod-stripe-webhook"})
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit, match="STRIPE_API_KEY_SECRET=stripe-key: the policies grant only"):
        check_stage(tmp_path, "prod")


def test_make_package_refuses_too(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / ".chalice", project / ".chalice")
    config = json.loads((project / ".chalice" / "config.json").read_text())
    config["stages"]["prod"]["environment_variables"].pop("STRIPE_API_KEY_SECRET")
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "devtools.package", "--stage", "prod", "--project-dir", str(project)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "STRIPE_API_KEY_SECRET" in result.stderr


def test_the_stripe_key_comes_from_secrets_manager(stack, aws):
    from chalicelib.adapters.payment_provider import APPROVED
    from chalicelib.bootstrap import Container, container

    name = f"chowline-local-stripe-api-key-{uuid.uuid4().hex[:6]}"
    aws("secretsmanager").create_secret(Name=name, SecretString=SECRET_KEY)
    with StripeServer() as server:
        settings = dataclasses.replace(
            container().settings, payment_provider="stripe", stripe_api_key_secret=name, stripe_api_base=server.url
        )
        provider = Container(settings).payment_provider
        assert provider.authorize("ord_key", 1000, "USD", VISA).status == APPROVED
        assert server.fake.requests[-1][:2] == ("POST", "/v1/payment_intents")


def test_the_cost_model_prices_stripes_fees_per_order():
    from bench.cost import stripe_fees

    fees = stripe_fees()  # 2.9 % + 30¢ on the $30 average order
    assert round(fees.per_order, 4) == 1.17 and round(fees.monthly) == 1_170_000
    assert round(fees.share_of(3_000), 1) == 3.9
    assert round(stripe_fees(4_000, 2.5, 25).per_order, 4) == 1.25

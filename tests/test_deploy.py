"""``make deploy`` against moto: the stack is created then updated in place, its outputs
become the stage's environment, chalice deploy sees rendered least-privilege policies and
the cursor key only while it runs, and the event source mappings it created end up
reporting batch item failures.

moto cannot run ``chalice deploy`` (Swagger 2 import), so a stand-in creates what it would:
the functions and their queue and stream mappings, without the batch-failure setting. moto's
CloudFormation has no Cognito, so the user-pool outputs are given as literals in the test
template (``emulated_subset`` keeps the rest of infra/template.json as it is).
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from devtools import deploy
from devtools.functions import app_functions
from devtools.provision import emulated_subset, load_template

ROOT = Path(__file__).resolve().parent.parent


STRIPE_SECRETS = ("chowline-prod-stripe-api-key", "chowline-prod-stripe-webhook")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        import boto3

        session = boto3.session.Session(region_name="us-east-1")
        for name in STRIPE_SECRETS:  # made once by the operator (docs/deploy.md)
            session.client("secretsmanager").create_secret(Name=name, SecretString="configured-out-of-band")
        yield session


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / ".chalice", tmp_path / ".chalice", ignore=shutil.ignore_patterns("deployed", "deployments"))
    shutil.copytree(ROOT / "infra", tmp_path / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def stack_template(session: Any) -> dict[str, Any]:
    """moto's CloudFormation has no Cognito: the pool is made beside it, and the stack's
    outputs name it (one pool per moto run, whatever the number of deploys)."""
    idp = session.client("cognito-idp")
    pools = idp.list_user_pools(MaxResults=10)["UserPools"]
    pool_id = pools[0]["Id"] if pools else idp.create_user_pool(PoolName="chowline-prod-users")["UserPool"]["Id"]
    pool_arn = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
    template = emulated_subset(load_template())
    template["Outputs"].update(
        {
            "UserPoolArn": {"Value": pool_arn},
            "UserPoolId": {"Value": pool_id},
            "UserPoolClientId": {"Value": "client-deploy"},
        }
    )
    return template


class ChaliceDeployStandIn:
    """Checks what chalice deploy is given, then creates what it would."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.seen: dict[str, Any] = {}

    def __call__(self, project_dir: Path, stage: str) -> None:
        config = json.loads((project_dir / ".chalice" / "config.json").read_text())
        settings = config["stages"][stage]
        self.seen["env"] = dict(settings["environment_variables"])
        self.seen["policies"] = {
            name: json.loads((project_dir / ".chalice" / options["iam_policy_file"]).read_text())
            for name, options in settings["lambda_functions"].items()
        }
        env = settings["environment_variables"]
        iam = self.session.client("iam")
        role = iam.create_role(
            RoleName=f"chowline-{stage}-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
        lam = self.session.client("lambda")
        for function in app_functions():
            lam.create_function(
                FunctionName=f"chowline-{stage}-{function}",
                Runtime="python3.11",
                Role=role,
                Handler=f"app.{function}",
                Code={"ZipFile": code.getvalue()},
            )
        queue_arn = self.session.client("sqs").get_queue_attributes(
            QueueUrl=env["ORDERS_QUEUE_URL"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        lam.create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName=f"chowline-{stage}-process_order", BatchSize=10
        )
        lam.create_event_source_mapping(
            EventSourceArn=env["ORDERS_STREAM_ARN"],
            FunctionName=f"chowline-{stage}-notify",
            StartingPosition="LATEST",
            BatchSize=100,
        )
        apigw = self.session.client("apigateway")
        api = apigw.create_rest_api(name="chowline")
        root = apigw.get_resources(restApiId=api["id"])["items"][0]["id"]
        apigw.put_method(
            restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE", apiKeyRequired=True
        )
        apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
        apigw.create_deployment(restApiId=api["id"], stageName="api")
        deployed = project_dir / ".chalice" / "deployed"
        deployed.mkdir(exist_ok=True)
        resources = [{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api["id"]}]
        (deployed / f"{stage}.json").write_text(json.dumps({"resources": resources}))
        self.seen["rest_api_id"] = api["id"]


def test_deploy_creates_the_stack_feeds_the_config_and_fixes_the_mappings(aws: Any, project: Path) -> None:
    chalice = ChaliceDeployStandIn(aws)
    summary = deploy.deploy("prod", aws, project, template=stack_template(aws), chalice_deploy=chalice, delay=1)

    stack = aws.client("cloudformation").describe_stacks(StackName="chowline-prod-data")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    # The stage config now carries the stack's outputs...
    config = json.loads((project / ".chalice" / "config.json").read_text())
    env = config["stages"]["prod"]["environment_variables"]
    assert env["ORDERS_TABLE"] == "chowline-prod-orders" == outputs["OrdersTableName"]
    assert env["ORDERS_QUEUE_URL"] == outputs["OrdersQueueUrl"]
    assert env["ORDER_EVENTS_TOPIC_ARN"] == outputs["OrderEventsTopicArn"]
    assert env["USER_POOL_ARN"] == outputs["UserPoolArn"] and env["CHOWLINE_STAGE"] == "prod"
    # ...but neither the secret nor the rendered policies stay in it.
    assert "CURSOR_KEY" not in env
    assert config["lambda_functions"]["payment"]["iam_policy_file"] == "policy-payment.json"
    assert "lambda_functions" not in config["stages"]["prod"]
    assert config["stages"]["local"]["environment_variables"]["VERIFY_TOKENS"] == "true"

    # chalice deploy saw the key and concrete, stage-scoped ARNs.
    key = aws.client("secretsmanager").get_secret_value(SecretId="chowline-prod-cursor-key")["SecretString"]
    assert chalice.seen["env"]["CURSOR_KEY"] == key and len(key) >= 32
    rendered = json.dumps(chalice.seen["policies"])
    assert "${" not in rendered
    process_order = json.dumps(chalice.seen["policies"]["process_order"])
    assert outputs["OrdersQueueArn"] in process_order
    assert "arn:aws:dynamodb:us-east-1:123456789012:table/chowline-prod-orders" in process_order
    assert outputs["UserPoolArn"] in json.dumps(chalice.seen["policies"]["api_handler"])
    assert outputs["UserPoolArn"] in json.dumps(chalice.seen["policies"]["post_confirmation"])

    # The mappings chalice created report batch item failures; the stream one bisects.
    lam = aws.client("lambda")
    sqs_mapping = lam.list_event_source_mappings(FunctionName="chowline-prod-process_order")["EventSourceMappings"][0]
    stream_mapping = lam.list_event_source_mappings(FunctionName="chowline-prod-notify")["EventSourceMappings"][0]
    assert sqs_mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream_mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream_mapping["BisectBatchOnFunctionError"] is True
    assert sorted(summary["mappings_updated"]) == sorted([sqs_mapping["UUID"], stream_mapping["UUID"]])

    # The user pool's post-confirmation trigger is the deployed function, invokable by Cognito only.
    pool = aws.client("cognito-idp").describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]
    trigger = lam.get_function(FunctionName="chowline-prod-post_confirmation")["Configuration"]["FunctionArn"]
    assert pool["LambdaConfig"]["PostConfirmation"] == trigger and summary["post_confirmation_wired"] is True
    grant = json.loads(lam.get_policy(FunctionName="chowline-prod-post_confirmation")["Policy"])["Statement"]
    assert [g["Principal"] for g in grant] == [{"Service": "cognito-idp.amazonaws.com"}]


def test_second_deploy_updates_in_place_and_changes_nothing_twice(aws: Any, project: Path) -> None:
    chalice = ChaliceDeployStandIn(aws)
    deploy.deploy("prod", aws, project, template=stack_template(aws), chalice_deploy=chalice, delay=1)
    key = aws.client("secretsmanager").get_secret_value(SecretId="chowline-prod-cursor-key")["SecretString"]
    config_after_first = (project / ".chalice" / "config.json").read_text()

    again = deploy.deploy("prod", aws, project, template=stack_template(aws), chalice_deploy=lambda *_: None, delay=1)

    stacks = aws.client("cloudformation").describe_stacks(StackName="chowline-prod-data")["Stacks"]
    assert len(stacks) == 1 and stacks[0]["StackStatus"] in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
    assert again["mappings_updated"] == [] and again["post_confirmation_wired"] is False
    assert aws.client("secretsmanager").get_secret_value(SecretId="chowline-prod-cursor-key")["SecretString"] == key
    assert (project / ".chalice" / "config.json").read_text() == config_after_first


def test_a_failed_chalice_deploy_leaves_the_config_as_it_was(aws: Any, project: Path) -> None:
    def failing(project_dir: Path, stage: str) -> None:
        raise RuntimeError("chalice deploy failed")

    with pytest.raises(RuntimeError):
        deploy.deploy("prod", aws, project, template=stack_template(aws), chalice_deploy=failing, delay=1)
    config = json.loads((project / ".chalice" / "config.json").read_text())
    assert "CURSOR_KEY" not in config["stages"]["prod"]["environment_variables"]
    assert config["lambda_functions"]["notify"]["iam_policy_file"] == "policy-notify.json"
    assert "lambda_functions" not in config["stages"]["prod"]


def test_a_policy_placeholder_without_a_value_stops_the_deploy() -> None:
    with pytest.raises(KeyError, match=r"NotifyQueue\.Arn"):
        deploy.render({"Resource": ["${NotifyQueue.Arn}"]}, {"Stage": "prod"})
    assert deploy.render(
        {"Resource": "arn:${AWS::Partition}:sqs:::chowline-${Stage}-x"}, {"AWS::Partition": "aws", "Stage": "dev"}
    ) == {"Resource": "arn:aws:sqs:::chowline-dev-x"}


def test_deploy_attaches_a_usage_plan_and_key_per_client_application(aws: Any, project: Path) -> None:
    chalice = ChaliceDeployStandIn(aws)
    first = deploy.deploy("prod", aws, project, template=stack_template(aws), chalice_deploy=chalice, delay=1)
    apigw = aws.client("apigateway")
    plans = {p["name"]: p for p in apigw.get_usage_plans()["items"]}
    assert (
        set(plans) == set(first["api_keys"]) == {"chowline-prod-web", "chowline-prod-mobile", "chowline-prod-partner"}
    )
    for name, plan in plans.items():
        assert plan["apiStages"] == [{"apiId": chalice.seen["rest_api_id"], "stage": "api"}]
        assert plan["throttle"]["rateLimit"] > 0 and plan["quota"]["period"] == "MONTH"
        keys = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
        assert [k["id"] for k in keys] == [first["api_keys"][name]]
    # A second deploy finds them by name.
    second = deploy.attach_usage_plans(apigw, project, "prod")
    assert second == first["api_keys"]
    assert len(apigw.get_usage_plans()["items"]) == 3 and len(apigw.get_api_keys()["items"]) == 3


def test_deploy_uploads_the_web_app_versioned_with_an_uncached_index(aws: Any, project: Path) -> None:
    shutil.copytree(ROOT / "web", project / "web")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="chowline-prod-web-123456789012")
    summary = deploy.deploy(
        "prod",
        aws,
        project,
        template=stack_template(aws),
        chalice_deploy=ChaliceDeployStandIn(aws),
        delay=1,
        web_bucket="chowline-prod-web-123456789012",
    )

    version = summary["web"]["version"]
    bucket = "chowline-prod-web-123456789012"
    index = s3.get_object(Bucket=bucket, Key="index.html")
    assert index["CacheControl"] == "no-cache" and index["ContentType"].startswith("text/html")
    html = index["Body"].read().decode()
    assert f'src="v/{version}/js/app.js"' in html and f'href="v/{version}/css/app.css"' in html
    assert 'href="#/"' in html  # in-app links are left alone
    # Every other file is there under the version, with a long cache and its own type.
    sources = [p.relative_to(ROOT / "web").as_posix() for p in (ROOT / "web").rglob("*") if p.is_file()]
    for name in sources:
        if name == "index.html":
            continue
        obj = s3.get_object(Bucket=bucket, Key=f"v/{version}/{name}")
        assert obj["CacheControl"] == "public, max-age=31536000, immutable"
        assert obj["Body"].read() == (ROOT / "web" / name).read_bytes()
        if name.endswith(".js"):
            assert obj["ContentType"].startswith("text/javascript")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert len(keys) == len(sources) == summary["web"]["files"]

    # A changed file is a new version; the old one stays for pages still open.
    (project / "web" / "css" / "app.css").write_text("body { margin: 0 }\n")
    again = deploy.upload_web(s3, bucket, project / "web")
    assert again["version"] != version
    assert s3.head_object(Bucket=bucket, Key=f"v/{version}/css/app.css")
    assert f"v/{again['version']}/css/app.css" in s3.get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()


def test_deploy_creates_push_applications_from_secrets_and_wires_the_websocket(aws: Any, project: Path) -> None:
    credentials = {"PlatformCredential": "fcm-server-key", "PlatformPrincipal": ""}
    secrets = aws.client("secretsmanager")
    secrets.create_secret(Name="chowline-prod-push-fcm", SecretString=json.dumps(credentials))
    chalice = ChaliceDeployStandIn(aws)

    def chalice_with_websocket(project_dir: Path, stage: str) -> None:
        chalice(project_dir, stage)
        deployed = project_dir / ".chalice" / "deployed"
        deployed.mkdir(parents=True, exist_ok=True)
        resource = {"resource_type": "websocket_api", "name": "websocket_api", "websocket_api_id": "ws123"}
        record = json.loads((deployed / f"{stage}.json").read_text())
        record["resources"].append(resource)
        (deployed / f"{stage}.json").write_text(json.dumps(record))

    deploy.deploy("prod", aws, project, template=stack_template(aws), chalice_deploy=chalice_with_websocket, delay=1)

    apps = aws.client("sns").list_platform_applications()["PlatformApplications"]
    assert [a["PlatformApplicationArn"].rsplit("/", 1)[-1] for a in apps] == ["chowline-prod-fcm"]
    env = json.loads((project / ".chalice" / "config.json").read_text())["stages"]["prod"]["environment_variables"]
    assert env["PUSH_FCM_ARN"] == apps[0]["PlatformApplicationArn"]
    assert "PUSH_APNS_ARN" not in env  # no credentials, no APNs push
    assert env["WS_URL"] == "wss://ws123.execute-api.us-east-1.amazonaws.com/api"
    notify = aws.client("lambda").get_function_configuration(FunctionName="chowline-prod-notify")
    assert (
        notify["Environment"]["Variables"]["WEBSOCKET_ENDPOINT"]
        == "https://ws123.execute-api.us-east-1.amazonaws.com/api"
    )
    # Before the API existed the grant named no API id; the next deploy names it.
    assert ":*/*/POST/@connections/*" in json.dumps(chalice.seen["policies"]["notify"])
    seen: dict[str, str] = {}

    def record_policy(project_dir: Path, stage: str) -> None:
        config = json.loads((project_dir / ".chalice" / "config.json").read_text())
        policy_file = config["stages"][stage]["lambda_functions"]["notify"]["iam_policy_file"]
        seen["notify"] = (project_dir / ".chalice" / policy_file).read_text()

    deploy.deploy("prod", aws, project, template=stack_template(aws), chalice_deploy=record_policy, delay=1)
    assert ":ws123/*/POST/@connections/*" in seen["notify"]
    assert len(aws.client("sns").list_platform_applications()["PlatformApplications"]) == 1


def test_deploy_refuses_a_prod_stage_whose_stripe_secrets_are_missing(aws: Any, project: Path) -> None:
    aws.client("secretsmanager").delete_secret(SecretId=STRIPE_SECRETS[1], ForceDeleteWithoutRecovery=True)
    with pytest.raises(SystemExit, match="create-secret --name chowline-prod-stripe-webhook"):
        deploy.deploy("prod", aws, project, template=stack_template(aws), chalice_deploy=lambda *_: None, delay=1)
    assert aws.client("cloudformation").list_stacks()["StackSummaries"] == [], "refused before anything was made"

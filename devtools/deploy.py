"""``make deploy STAGE=prod``: the stateful stack, then the functions, then what chalice
cannot set.

1. Creates or updates the CloudFormation stack ``chowline-<stage>-data`` from
   ``infra/template.json`` and waits for it.
2. Writes its outputs into ``.chalice/config.json`` as the stage's environment variables
   (the mapping the local stack uses too), so nothing is copied by hand.
3. Runs ``chalice deploy --stage <stage>`` with, for that run only, the stage's policy files
   rendered with the stack's ARNs and the cursor key from Secrets Manager (created once);
   neither stays in config.json.
4. Turns on ReportBatchItemFailures (and bisection and retries for the stream) on the event
   source mappings chalice created: without it a failed record in a batch is deleted.
5. Attaches the packaged template's usage plans, each with its API key, to the API chalice
   created: every route but the keyless ones requires a key, so without them it answers 403.
6. Makes the ``post_confirmation`` function the user pool's post-confirmation trigger (with
   its invoke permission): the pool lives in the data stack, created before the function, so
   this is an API call after the fact. A later data-stack update that touches the pool drops
   the trigger; the next ``make deploy`` puts it back (``make package`` declares it instead).
7. Uploads the web app (web/) to the web bucket when one is given (``--web-bucket``, or the
   stack's WebBucketName): every file but index.html under ``v/<content hash>/`` with a
   year-long cache, then index.html, not cached, pointing at that version.

Mobile push: CloudFormation has no SNS platform application, so step 2 also creates (or
updates) one per platform whose credentials are in Secrets Manager as
``chowline-<stage>-push-<platform>`` (JSON ``{"PlatformCredential", "PlatformPrincipal"}``:
the FCM key, or the APNs signing key and key id; never in the repo), and puts its ARN in
the stage's environment. A platform without a secret is simply not offered.

WebSocket: chalice creates the WebSocket API during the deploy; its URL and management
endpoint are then written to the stage's environment and set on the functions, and the
next deploy's policies name the API by its id (``*`` before it exists).

The full edge (WAF, CloudFront, alarms) ships with ``make package`` and
CloudFormation; see docs/deploy.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.provision import environment

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9:.]+)\}")
# Policy placeholders that name a stack resource -> the stack output holding its value.
RESOURCE_OUTPUTS = {
    "OrdersQueue.Arn": "OrdersQueueArn",
    "UserPool.Arn": "UserPoolArn",
    "OrderEventsTopic": "OrderEventsTopicArn",
    "OrdersTable.StreamArn": "OrdersStreamArn",
}
BATCH_FAILURES = ["ReportBatchItemFailures"]
POST_CONFIRMATION = "post_confirmation"
# What UpdateUserPool resets when left out: carried over from DescribeUserPool.
POOL_SETTINGS = (
    "Policies",
    "DeletionProtection",
    "AutoVerifiedAttributes",
    "VerificationMessageTemplate",
    "SmsAuthenticationMessage",
    "UserAttributeUpdateSettings",
    "MfaConfiguration",
    "DeviceConfiguration",
    "EmailConfiguration",
    "SmsConfiguration",
    "UserPoolTags",
    "AdminCreateUserConfig",
    "UserPoolAddOns",
    "AccountRecoverySetting",
)
WEB_DIR = ROOT / "web"
LONG_CACHE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# index.html's relative references (css/app.css, js/app.js), not "#..." or "data:...".
RELATIVE_REF = re.compile(r'(href|src)="([^":#/][^":#]*)"')


def stack_name(stage: str) -> str:
    return f"chowline-{stage}-data"


def deploy_stack(cfn: Any, name: str, template: dict[str, Any], stage: str, delay: int = 10) -> dict[str, str]:
    """Creates or updates the stack, waits, and returns its outputs."""
    args = {
        "StackName": name,
        "TemplateBody": json.dumps(template),
        "Parameters": [{"ParameterKey": "Stage", "ParameterValue": stage}],
        "Tags": [{"Key": "app", "Value": "chowline"}, {"Key": "stage", "Value": stage}],
    }
    waiter_config = {"Delay": delay, "MaxAttempts": 180}
    try:
        cfn.describe_stacks(StackName=name)
        exists = True
    except cfn.exceptions.ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        exists = False
    if not exists:
        cfn.create_stack(**args, EnableTerminationProtection=stage == "prod")
        cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=waiter_config)
    else:
        try:
            cfn.update_stack(**args)
            cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=waiter_config)
        except cfn.exceptions.ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def write_stage_environment(config_path: Path, stage: str, env: dict[str, str]) -> None:
    config = json.loads(config_path.read_text())
    config["stages"][stage].setdefault("environment_variables", {}).update(env)
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def cursor_key(secrets_client: Any, stage: str) -> str:
    """The paging-cursor HMAC key: created once per stage, the same name the packaged stack uses."""
    name = f"chowline-{stage}-cursor-key"
    try:
        return str(secrets_client.get_secret_value(SecretId=name)["SecretString"])
    except secrets_client.exceptions.ResourceNotFoundException:
        value = secrets.token_urlsafe(36)
        secrets_client.create_secret(Name=name, SecretString=value, Description="HMAC key of the paging cursors")
        return value


def render(node: Any, values: dict[str, str]) -> Any:
    """Fills ``${...}`` placeholders of a policy file; an unknown one is an error."""
    if isinstance(node, dict):
        return {k: render(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [render(v, values) for v in node]
    if isinstance(node, str):
        missing = [m for m in PLACEHOLDER.findall(node) if m not in values]
        if missing:
            raise KeyError(f"no value for {', '.join(missing)} in {node}")
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], node)
    return node


def placeholder_values(outputs: dict[str, str], stage: str, region: str, account: str) -> dict[str, str]:
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    values = {"Stage": stage, "AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": partition}
    values.update({name: outputs[key] for name, key in RESOURCE_OUTPUTS.items() if key in outputs})
    return values


@contextmanager
def deploy_config(project_dir: Path, stage: str, secret_env: dict[str, str], values: dict[str, str]) -> Iterator[Path]:
    """config.json as chalice deploy must see it, for the duration of the deploy only."""
    chalice_dir = project_dir / ".chalice"
    config_path = chalice_dir / "config.json"
    original = config_path.read_text()
    rendered_dir = chalice_dir / "deployed" / "policies" / stage
    rendered_dir.mkdir(parents=True, exist_ok=True)
    config = json.loads(original)
    settings = config["stages"][stage]
    settings["environment_variables"] = {**settings.get("environment_variables", {}), **secret_env}
    # The stage's own lambda_functions entries take precedence over the top-level sizes.
    for function, options in config.get("lambda_functions", {}).items():
        policy_file = options.get("iam_policy_file")
        if policy_file:
            doc = render(json.loads((chalice_dir / policy_file).read_text()), values)
            target = rendered_dir / policy_file
            target.write_text(json.dumps(doc, indent=2) + "\n")
            rendered = {"iam_policy_file": str(target.relative_to(chalice_dir))}
            settings.setdefault("lambda_functions", {}).setdefault(function, {}).update(rendered)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    try:
        yield config_path
    finally:
        config_path.write_text(original)


def run_chalice_deploy(project_dir: Path, stage: str) -> None:
    """The stage's variables are in chalice's own environment too: the event decorators read
    ORDERS_QUEUE_ARN and ORDERS_STREAM_ARN when chalice imports app.py."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    env = {**os.environ, **config["stages"][stage].get("environment_variables", {})}
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "--project-dir", str(project_dir), "deploy", "--stage", stage], check=True, env=env)


def enable_batch_failures(lambda_client: Any, stage: str) -> list[str]:
    """ReportBatchItemFailures on the queue and stream mappings; bisection and bounded
    retries on the stream. Returns the mappings changed."""
    changed = []
    for function in ("process_order", "notify"):
        paginator = lambda_client.get_paginator("list_event_source_mappings")
        for page in paginator.paginate(FunctionName=f"chowline-{stage}-{function}"):
            for mapping in page["EventSourceMappings"]:
                update: dict[str, Any] = {}
                if mapping.get("FunctionResponseTypes") != BATCH_FAILURES:
                    update["FunctionResponseTypes"] = BATCH_FAILURES
                if ":dynamodb:" in mapping["EventSourceArn"]:
                    if not mapping.get("BisectBatchOnFunctionError"):
                        update["BisectBatchOnFunctionError"] = True
                    if mapping.get("MaximumRetryAttempts", -1) in (-1, None):
                        update["MaximumRetryAttempts"] = 5
                if update:
                    lambda_client.update_event_source_mapping(UUID=mapping["UUID"], **update)
                    changed.append(mapping["UUID"])
    return changed


def attach_usage_plans(apigw: Any, project_dir: Path, stage: str) -> dict[str, str]:
    """The usage plans of infra/edge.json (one per client application), each with its key,
    on the ``api`` stage of the REST API chalice deployed. Found by name, so a second deploy
    changes nothing. Returns plan name -> API key id (read a value with ``aws apigateway
    get-api-key --include-value --api-key <id>``)."""
    deployed = json.loads((project_dir / ".chalice" / "deployed" / f"{stage}.json").read_text())
    rest_api_id = next(r["rest_api_id"] for r in deployed["resources"] if r.get("resource_type") == "rest_api")
    resources = json.loads((project_dir / "infra" / "edge.json").read_text())["Resources"]
    plans = {p["name"]: p for p in apigw.get_usage_plans(limit=500).get("items", [])}
    api_keys = {k["name"]: k for k in apigw.get_api_keys(limit=500).get("items", [])}
    attached: dict[str, str] = {}
    for resource in resources.values():
        if resource.get("Type") != "AWS::ApiGateway::UsagePlan":
            continue
        spec = resource["Properties"]
        name = spec["UsagePlanName"]["Fn::Sub"].replace("${Stage}", stage)
        plan = plans.get(name) or apigw.create_usage_plan(
            name=name,
            description=spec["Description"],
            apiStages=[{"apiId": rest_api_id, "stage": "api"}],
            throttle={"rateLimit": float(spec["Throttle"]["RateLimit"]), "burstLimit": spec["Throttle"]["BurstLimit"]},
            quota={"limit": spec["Quota"]["Limit"], "period": spec["Quota"]["Period"]},
        )
        key = api_keys.get(name) or apigw.create_api_key(name=name, enabled=True)
        linked = {k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"]).get("items", [])}
        if key["id"] not in linked:
            apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        attached[name] = key["id"]
    return attached


def wire_post_confirmation(idp: Any, lambda_client: Any, outputs: dict[str, str], stage: str) -> bool:
    """The pool's PostConfirmation trigger -> the deployed function; True when it changed."""
    function = f"chowline-{stage}-{POST_CONFIRMATION}"
    arn = lambda_client.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    try:
        lambda_client.add_permission(
            FunctionName=function,
            StatementId="cognito-post-confirmation",
            Action="lambda:InvokeFunction",
            Principal="cognito-idp.amazonaws.com",
            SourceArn=outputs["UserPoolArn"],
        )
    except lambda_client.exceptions.ResourceConflictException:
        pass  # granted by an earlier deploy
    pool = idp.describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]
    triggers = dict(pool.get("LambdaConfig") or {})
    if triggers.get("PostConfirmation") == arn:
        return False
    settings = {key: pool[key] for key in POOL_SETTINGS if key in pool}
    idp.update_user_pool(
        UserPoolId=outputs["UserPoolId"], **settings, LambdaConfig={**triggers, "PostConfirmation": arn}
    )
    return True


def web_release(web_dir: Path = WEB_DIR) -> tuple[str, dict[str, bytes]]:
    """The site as uploaded: its version (a hash of every file) and key -> bytes, each file
    but index.html under v/<version>/; the modules' relative imports stay within it."""
    files = {p.relative_to(web_dir).as_posix(): p.read_bytes() for p in sorted(web_dir.rglob("*")) if p.is_file()}
    digest = hashlib.sha256()
    for name, body in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    version = digest.hexdigest()[:12]
    index = files.pop("index.html").decode()
    release = {f"v/{version}/{name}": body for name, body in files.items()}
    release["index.html"] = RELATIVE_REF.sub(rf'\1="v/{version}/\2"', index).encode()
    return version, release


def upload_web(s3: Any, bucket: str, web_dir: Path = WEB_DIR) -> dict[str, Any]:
    """Uploads the versioned files first and index.html last, so no visitor gets an index
    that names files not there yet; earlier versions stay for pages still open."""
    from devtools.webroot import TYPES

    version, release = web_release(web_dir)
    for key, body in sorted(release.items(), key=lambda item: item[0] == "index.html"):
        suffix = Path(key).suffix
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream",
            CacheControl=NO_CACHE if key == "index.html" else LONG_CACHE,
        )
    return {"bucket": bucket, "version": version, "files": len(release)}


def push_applications(sns: Any, secrets_client: Any, stage: str) -> dict[str, str]:
    """Creates or refreshes the SNS platform application of every platform that has
    credentials in Secrets Manager; returns the PUSH_<PLATFORM>_ARN variables."""
    from chalicelib.domain.live import SNS_PLATFORMS
    from chalicelib.settings import push_variable

    existing: dict[str, str] = {}
    for page in sns.get_paginator("list_platform_applications").paginate():
        for application in page["PlatformApplications"]:
            arn = application["PlatformApplicationArn"]
            existing[arn.rsplit("/", 1)[-1]] = arn
    env: dict[str, str] = {}
    for platform, sns_platform in SNS_PLATFORMS.items():
        try:
            secret = secrets_client.get_secret_value(SecretId=f"chowline-{stage}-push-{platform}")
        except secrets_client.exceptions.ResourceNotFoundException:
            continue
        credentials = json.loads(secret["SecretString"])
        attributes = {k: credentials[k] for k in ("PlatformCredential", "PlatformPrincipal") if k in credentials}
        name = f"chowline-{stage}-{platform}".replace("_", "-")
        if name in existing:
            sns.set_platform_application_attributes(PlatformApplicationArn=existing[name], Attributes=attributes)
            env[push_variable(platform)] = existing[name]
        else:
            created = sns.create_platform_application(Name=name, Platform=sns_platform, Attributes=attributes)
            env[push_variable(platform)] = created["PlatformApplicationArn"]
    return env


def websocket_api_id(project_dir: Path, stage: str) -> str | None:
    """The WebSocket API chalice deployed for the stage, if it has."""
    deployed = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed.exists():
        return None
    for resource in json.loads(deployed.read_text()).get("resources", []):
        if resource.get("resource_type") == "websocket_api":
            return str(resource["websocket_api_id"])
    return None


def websocket_environment(api_id: str, region: str) -> dict[str, str]:
    host = f"{api_id}.execute-api.{region}.amazonaws.com"
    return {"WEBSOCKET_ENDPOINT": f"https://{host}/api", "WS_URL": f"wss://{host}/api"}


def set_function_environment(lambda_client: Any, stage: str, env: dict[str, str]) -> None:
    from devtools.functions import app_functions

    for function in app_functions():
        name = f"chowline-{stage}-{function}"
        current = lambda_client.get_function_configuration(FunctionName=name).get("Environment", {})
        variables = {**current.get("Variables", {}), **env}
        lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": variables})


def require_payment_secrets(secrets_client: Any, project_dir: Path, stage: str) -> None:
    """Refuses a stage the app would refuse to start on (devtools/package.py says which), and
    one whose Stripe secrets are not in Secrets Manager yet (docs/deploy.md creates them)."""
    from chalicelib.settings import Settings
    from devtools.package import check_stage

    check_stage(project_dir, stage)
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    variables = config["stages"][stage].get("environment_variables", {})
    settings = Settings.from_env({**variables, "CHOWLINE_STAGE": stage})
    if settings.payment_provider != "stripe":
        return
    missing = []
    for name in (settings.stripe_api_key_secret, settings.stripe_webhook_secret):
        try:
            secrets_client.describe_secret(SecretId=name)
        except secrets_client.exceptions.ResourceNotFoundException:
            missing.append(name)
    if missing:
        commands = "; ".join(f"aws secretsmanager create-secret --name {name} --secret-string ..." for name in missing)
        raise SystemExit(f"Not deploying stage {stage}: Stripe's secrets are missing ({commands})")


def deploy(
    stage: str,
    session: Any,
    project_dir: Path = ROOT,
    template: dict[str, Any] | None = None,
    chalice_deploy: Callable[[Path, str], None] = run_chalice_deploy,
    delay: int = 10,
    web_bucket: str | None = None,
) -> dict[str, Any]:
    template = template or json.loads((project_dir / "infra" / "template.json").read_text())
    require_payment_secrets(session.client("secretsmanager"), project_dir, stage)
    outputs = deploy_stack(session.client("cloudformation"), stack_name(stage), template, stage, delay)
    env = environment(outputs, stage)
    env.update(push_applications(session.client("sns"), session.client("secretsmanager"), stage))
    config_path = project_dir / ".chalice" / "config.json"
    write_stage_environment(config_path, stage, env)
    account = session.client("sts").get_caller_identity()["Account"]
    values = placeholder_values(outputs, stage, session.region_name, account)
    values["WebsocketAPI"] = websocket_api_id(project_dir, stage) or "*"
    secret_env = {"CURSOR_KEY": cursor_key(session.client("secretsmanager"), stage)}
    with deploy_config(project_dir, stage, secret_env, values):
        chalice_deploy(project_dir, stage)
    api_id = websocket_api_id(project_dir, stage)
    if api_id:
        live_env = websocket_environment(api_id, session.region_name)
        write_stage_environment(config_path, stage, live_env)
        set_function_environment(session.client("lambda"), stage, live_env)
        env.update(live_env)
    changed = enable_batch_failures(session.client("lambda"), stage)
    wired = wire_post_confirmation(session.client("cognito-idp"), session.client("lambda"), outputs, stage)
    keys = attach_usage_plans(session.client("apigateway"), project_dir, stage)
    bucket = web_bucket or outputs.get("WebBucketName")
    web = upload_web(session.client("s3"), bucket, project_dir / "web") if bucket else None
    return {
        "stack": stack_name(stage),
        "environment": sorted(env),
        "mappings_updated": changed,
        "api_keys": keys,
        "post_confirmation_wired": wired,
        "web": web,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod", choices=("dev", "prod"))
    parser.add_argument("--web-bucket", default=os.environ.get("WEB_BUCKET"), help="where the web app goes")
    args = parser.parse_args(argv)
    import boto3

    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    if not session.region_name:
        raise SystemExit("set AWS_REGION (or AWS_DEFAULT_REGION)")
    summary = deploy(args.stage, session, web_bucket=args.web_bucket)
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

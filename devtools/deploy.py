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

The full edge (WAF, CloudFront, alarms) ships with ``make package`` and
CloudFormation; see docs/deploy.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.package import FUNCTIONS as PACKAGED_FUNCTIONS
from devtools.provision import environment

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = tuple(PACKAGED_FUNCTIONS)
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9:.]+)\}")
# Policy placeholders that name a stack resource -> the stack output holding its value.
RESOURCE_OUTPUTS = {
    "OrdersQueue.Arn": "OrdersQueueArn",
    "UserPool.Arn": "UserPoolArn",
    "OrderEventsTopic": "OrderEventsTopicArn",
    "OrdersTable.StreamArn": "OrdersStreamArn",
}
BATCH_FAILURES = ["ReportBatchItemFailures"]


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
    for options in settings.get("lambda_functions", {}).values():
        policy_file = options.get("iam_policy_file")
        if policy_file:
            doc = render(json.loads((chalice_dir / policy_file).read_text()), values)
            target = rendered_dir / policy_file
            target.write_text(json.dumps(doc, indent=2) + "\n")
            options["iam_policy_file"] = str(target.relative_to(chalice_dir))
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


def deploy(
    stage: str,
    session: Any,
    project_dir: Path = ROOT,
    template: dict[str, Any] | None = None,
    chalice_deploy: Callable[[Path, str], None] = run_chalice_deploy,
    delay: int = 10,
) -> dict[str, Any]:
    template = template or json.loads((project_dir / "infra" / "template.json").read_text())
    outputs = deploy_stack(session.client("cloudformation"), stack_name(stage), template, stage, delay)
    env = environment(outputs, stage)
    write_stage_environment(project_dir / ".chalice" / "config.json", stage, env)
    account = session.client("sts").get_caller_identity()["Account"]
    values = placeholder_values(outputs, stage, session.region_name, account)
    secret_env = {"CURSOR_KEY": cursor_key(session.client("secretsmanager"), stage)}
    with deploy_config(project_dir, stage, secret_env, values):
        chalice_deploy(project_dir, stage)
    changed = enable_batch_failures(session.client("lambda"), stage)
    keys = attach_usage_plans(session.client("apigateway"), project_dir, stage)
    return {"stack": stack_name(stage), "environment": sorted(env), "mappings_updated": changed, "api_keys": keys}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod", choices=("dev", "prod"))
    args = parser.parse_args(argv)
    import boto3

    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    if not session.region_name:
        raise SystemExit("set AWS_REGION (or AWS_DEFAULT_REGION)")
    summary = deploy(args.stage, session)
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

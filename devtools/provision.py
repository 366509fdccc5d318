"""Provisions an AWS emulator from ``infra/template.json``, the same template production uses.

moto's CloudFormation builds the tables, queues, topic and bucket; what it skips (the
Cognito user pool, its client and groups, DynamoDB TTL) is created here from the very
same resource properties, so the template stays the single source of truth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.json"
EMULATED_TYPES = {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::S3::Bucket"}
FAKE_ACCOUNT = "123456789012"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return json.loads(path.read_text())


def emulated_subset(template: dict[str, Any]) -> dict[str, Any]:
    """The part of the template moto's CloudFormation can build, outputs included."""
    resources = {k: v for k, v in template["Resources"].items() if v.get("Type") in EMULATED_TYPES}
    outputs = {
        k: {"Value": v["Value"]}
        for k, v in template.get("Outputs", {}).items()
        if _references(v["Value"]) <= set(resources)
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": template.get("Parameters", {}),
        "Resources": resources,
        "Outputs": outputs,
    }


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        if "Ref" in node:
            return {node["Ref"]}
        if "Fn::GetAtt" in node:
            return {node["Fn::GetAtt"][0]}
        return set().union(*(_references(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_references(v) for v in node)) if node else set()
    return set()


def _sub(value: Any, stage: str) -> str:
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return text.replace("${Stage}", stage).replace("${AWS::AccountId}", FAKE_ACCOUNT)


def provision(session: Any, stage: str = "local", template: dict[str, Any] | None = None) -> dict[str, str]:
    """Builds the stack and returns the app's environment (the Settings variables)."""
    template = template or load_template()
    cfn = session.client("cloudformation")
    stack_name = f"chowline-{stage}"
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(emulated_subset(template)),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
    )
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name} is {stack['StackStatus']}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    _apply_ttl(session, template, stage)
    outputs.update(_create_user_pool(session, template, stage))
    env = environment(outputs, stage)
    env.update(create_push_applications(session, stage))
    return env


def _apply_ttl(session: Any, template: dict[str, Any], stage: str) -> None:
    dynamodb = session.client("dynamodb")
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        spec = props.get("TimeToLiveSpecification")
        if resource.get("Type") == "AWS::DynamoDB::Table" and spec:
            dynamodb.update_time_to_live(TableName=_sub(props["TableName"], stage), TimeToLiveSpecification=spec)


def _create_user_pool(session: Any, template: dict[str, Any], stage: str) -> dict[str, str]:
    idp = session.client("cognito-idp")
    resources = template["Resources"]
    pool_props = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPool")
    client_props = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolClient")
    pool = idp.create_user_pool(
        PoolName=_sub(pool_props["UserPoolName"], stage),
        Policies=pool_props["Policies"],
        UsernameAttributes=pool_props["UsernameAttributes"],
        AutoVerifiedAttributes=pool_props["AutoVerifiedAttributes"],
        Schema=pool_props["Schema"],
    )["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName=_sub(client_props["ClientName"], stage),
        GenerateSecret=client_props["GenerateSecret"],
        ExplicitAuthFlows=client_props["ExplicitAuthFlows"],
    )["UserPoolClient"]
    for resource in resources.values():
        if resource["Type"] == "AWS::Cognito::UserPoolGroup":
            props = resource["Properties"]
            idp.create_group(GroupName=props["GroupName"], UserPoolId=pool["Id"], Precedence=props["Precedence"])
    return {"UserPoolId": pool["Id"], "UserPoolArn": pool["Arn"], "UserPoolClientId": client["ClientId"]}


def push_parameter(platform: str) -> str:
    """The stack parameter carrying a push platform's SNS application ARN (``make deploy``
    creates the application, CloudFormation having no resource type for it)."""
    return "Push" + "".join(part.capitalize() for part in platform.split("_")) + "ApplicationArn"


def create_push_applications(session: Any, stage: str) -> dict[str, str]:
    """CloudFormation has no SNS platform application: one per push platform, with dummy
    credentials (the emulator delivers nothing to Apple or Google)."""
    from chalicelib.domain.live import SNS_PLATFORMS
    from chalicelib.settings import push_variable

    sns = session.client("sns")
    env = {}
    for platform, sns_platform in SNS_PLATFORMS.items():
        arn = sns.create_platform_application(
            Name=f"chowline-{stage}-{platform}".replace("_", "-"),
            Platform=sns_platform,
            Attributes={"PlatformCredential": "local-credential", "PlatformPrincipal": "local-principal"},
        )["PlatformApplicationArn"]
        env[push_variable(platform)] = arn
    return env


def environment(outputs: dict[str, str], stage: str) -> dict[str, str]:
    """Maps stack outputs to the app's environment variables: the same mapping deploys use."""
    mapping = {
        "USERS_TABLE": "UsersTableName",
        "RESTAURANTS_TABLE": "RestaurantsTableName",
        "PRODUCTS_TABLE": "ProductsTableName",
        "ORDERS_TABLE": "OrdersTableName",
        "ORDERS_STREAM_ARN": "OrdersStreamArn",
        "NOTIFICATIONS_TABLE": "NotificationsTableName",
        "CONNECTIONS_TABLE": "ConnectionsTableName",
        "DEVICES_TABLE": "DevicesTableName",
        "PROMO_CODES_TABLE": "PromoCodesTableName",
        "COURIERS_TABLE": "CouriersTableName",
        "ORDERS_QUEUE_URL": "OrdersQueueUrl",
        "ORDERS_QUEUE_ARN": "OrdersQueueArn",
        "ORDERS_DLQ_URL": "OrdersDeadLetterQueueUrl",
        "ORDER_EVENTS_TOPIC_ARN": "OrderEventsTopicArn",
        "ASSETS_BUCKET": "AssetsBucketName",
        "USER_POOL_ID": "UserPoolId",
        "USER_POOL_ARN": "UserPoolArn",
        "USER_POOL_CLIENT_ID": "UserPoolClientId",
    }
    env = {name: outputs[key] for name, key in mapping.items() if key in outputs}
    env["CHOWLINE_STAGE"] = stage
    return env

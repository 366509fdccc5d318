"""Offline gates on the packaged production template: cfn-lint (with the serverless rules),
checkov, the SAM translator, and the settings the design promises (rate limit, Bot Control,
usage plan, cache only on the public GETs, sizes, batch failure reporting, DLQs, alarms).

The app is packaged once per module, from a copy of the project. Functions and catalog
routes that other parts of the code base have not declared yet are added to that copy as
stand-ins (never to app.py), so the overrides for them are exercised; once they exist, the
copy is the project as it is. Set CHOWLINE_GATES_STRICT=1 to fail instead of standing in.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATES_BIN = ROOT / ".venv-gates" / "bin"
sys.path.insert(0, str(ROOT / "infra"))
import edge  # noqa: E402  (infra/edge.py, the generator of infra/edge.json)

from devtools.functions import sizes  # noqa: E402
from devtools.package import POOL_TRIGGERS  # noqa: E402

FUNCTIONS = edge.FUNCTIONS
EVENT_DECORATORS = {"on_sqs_message", "lambda_function", "on_dynamodb_record", "schedule"}
STAND_INS = {
    "process_order": (
        '@app.on_sqs_message(queue="chowline-prod-orders.fifo", batch_size=10, maximum_concurrency=5)\n'
        "def process_order(event):\n    return {'batchItemFailures': []}\n"
    ),
    "payment": "@app.lambda_function()\ndef payment(event, context):\n    return {}\n",
    "notify": (
        '@app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/chowline-prod-orders/stream/x")\n'
        "def notify(event):\n    return {'batchItemFailures': []}\n"
    ),
    "sweep_pending_orders": '@app.schedule("rate(1 minute)")\ndef sweep_pending_orders(event):\n    return None\n',
}


def declared_in(app_source: str) -> tuple[set[str], set[tuple[str, str]]]:
    """Event functions and (METHOD, path) routes that app.py declares, read from its AST."""
    functions: set[str] = set()
    routes: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(app_source)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)):
                continue
            if deco.func.attr in EVENT_DECORATORS:
                name = next((k.value.value for k in deco.keywords if k.arg == "name"), node.name)  # type: ignore[attr-defined]
                functions.add(name)
            elif deco.func.attr == "route" and deco.args:
                path = deco.args[0].value  # type: ignore[attr-defined]
                methods = [a.value for a in deco.args[1:2]] or ["GET"]  # type: ignore[attr-defined]
                for k in deco.keywords:
                    if k.arg == "methods":
                        methods = [e.value for e in k.value.elts]  # type: ignore[attr-defined]
                routes |= {(m.upper(), path) for m in methods}
    return functions, routes


def stand_ins(app_source: str) -> tuple[str, list[str]]:
    functions, routes = declared_in(app_source)
    code, missing = [], []
    for name, text in STAND_INS.items():
        if name not in functions:
            code.append(text)
            missing.append(name)
    for index, path in enumerate(edge.CACHED_GETS):
        if ("GET", path) not in routes:
            params = ", ".join(p[1:-1] + ": str" for p in path.split("/") if p.startswith("{"))
            code.append(
                f'@api.route("{path}", roles=PUBLIC)\ndef stand_in_{index}({params}):\n    return json_response({{}})\n'
            )
            missing.append(f"GET {path}")
    return "\n\n" + "\n\n".join(code), missing


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not (GATES_BIN / "cfn-lint").exists():
        pytest.fail("the gates virtualenv is missing: run `make gates-venv` (make test does)")
    project = tmp_path_factory.mktemp("project")
    for name in ("app.py", "requirements.txt", "chalicelib", "infra", "devtools", ".chalice"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", "deployed"))
        else:
            shutil.copy2(source, project / name)
    source = (ROOT / "app.py").read_text()
    extra, missing = stand_ins(source)
    if missing:
        (project / "app.py").write_text(source + extra)
    out = project / "dist"
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "devtools.package", "--stage", "prod", "--project-dir", str(project), "--out", str(out)],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    sam = json.loads((out / "sam.json").read_text())
    subprocess.run(
        [str(GATES_BIN / "python"), str(ROOT / "infra" / "sam_translate.py"), "sam.json", "cloudformation.json"],
        cwd=out,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    cfn = json.loads((out / "cloudformation.json").read_text())
    report = json.loads((out / "package-report.json").read_text())
    sys.stderr.write(f"\npackaged in {seconds:.1f}s: {report}\n")
    return {"dir": out, "sam": sam, "cfn": cfn, "missing": missing, "report": report}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def props(template: dict[str, Any], logical: str) -> dict[str, Any]:
    return template["Resources"][logical]["Properties"]


# --- the tools --------------------------------------------------------------------------


def test_real_app_declares_every_function_and_catalog_get(packaged: dict[str, Any]) -> None:
    if packaged["missing"] and os.environ.get("CHOWLINE_GATES_STRICT") != "1":
        pytest.skip("stood in for (not declared in app.py yet): " + ", ".join(packaged["missing"]))
    assert packaged["missing"] == []


def test_cfn_lint_with_serverless_rules_reports_no_error(packaged: dict[str, Any]) -> None:
    result = subprocess.run(
        [str(GATES_BIN / "cfn-lint"), "-a", "cfn_lint_serverless.rules", "--format", "parseable", "--", "sam.json"],
        cwd=packaged["dir"],
        capture_output=True,
        text=True,
    )
    errors = [line for line in result.stdout.splitlines() if re.match(r"[^:]*:\d+:\d+:\d+:\d+:E", line)]
    assert errors == [] and not result.returncode & 2, result.stdout + result.stderr


def test_checkov_fails_nothing_that_is_not_skipped_with_a_reason(packaged: dict[str, Any]) -> None:
    result = subprocess.run(
        [
            str(GATES_BIN / "checkov"),
            "--skip-download",
            "--framework",
            "cloudformation",
            "-f",
            "sam.json",
            "-o",
            "json",
        ],
        cwd=packaged["dir"],
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    skipped = report["results"]["skipped_checks"]
    assert skipped, "the template documents its skips"
    assert all(len((c.get("check_result") or {}).get("suppress_comment", "")) > 20 for c in skipped)
    assert report["summary"]["passed"] > 80


def test_sam_translator_turns_it_into_plain_cloudformation(packaged: dict[str, Any]) -> None:
    kinds = {r["Type"] for r in packaged["cfn"]["Resources"].values()}
    assert not [k for k in kinds if k.startswith("AWS::Serverless::")]
    assert {"AWS::Lambda::Function", "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage"} <= kinds
    assert "RestAPIapiStage" in packaged["cfn"]["Resources"]


def test_zip_carries_bytecode_for_the_lambda_runtime(packaged: dict[str, Any]) -> None:
    runtime = props(packaged["sam"], "APIHandler")["Runtime"]
    assert runtime == "python3.11"
    tag = "cpython-311"
    with zipfile.ZipFile(packaged["dir"] / "deployment.zip") as archive:
        names = set(archive.namelist())
        pyc = archive.read(f"__pycache__/app.{tag}.pyc")
    assert f"chalicelib/__pycache__/bootstrap.{tag}.pyc" in names
    assert f"pydantic/__pycache__/main.{tag}.pyc" in names
    assert not [n for n in names if n.startswith(("devtools/", "tests/"))]
    # Same magic number as this 3.11 interpreter; flags 0b01 = hash-based, never checked
    # against the source (Lambda's copy of the code has new timestamps).
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01
    assert packaged["report"]["pyc_added"] > 100


def test_zip_ships_only_what_the_lambda_runtime_lacks(packaged: dict[str, Any]) -> None:
    with zipfile.ZipFile(packaged["dir"] / "deployment.zip") as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    # The runtime's AWS SDK (pulled in by aws-xray-sdk's dependency on botocore) stays out.
    sdk = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"}
    assert not tops & sdk
    assert not [t for t in tops if t.split("-")[0].lower() in {"boto3", "botocore", "urllib3", "six", "jmespath"}]
    assert {
        "app.py",
        "chalicelib",
        "chalice",
        "pydantic",
        "pydantic_core",
        "aws_lambda_powertools",
        "aws_xray_sdk",
    } <= tops
    assert "botocore==" in " ".join(packaged["report"]["runtime_provided_left_out"])
    # ~12 MB: cryptography (PyJWT's RS256, the WebSocket connect's token check) is ~5 MB of
    # it; botocore alone would add 17 MB.
    assert packaged["report"]["zip_bytes"] < 15_000_000


def test_edge_json_is_what_the_generator_writes() -> None:
    assert (ROOT / "infra" / "edge.json").read_text() == edge.render()


# --- the edge ---------------------------------------------------------------------------


def test_waf_limits_1000_requests_per_60s_per_ip_and_runs_bot_control(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    acl = props(sam, "WebAcl")
    assert acl["Scope"] == "REGIONAL"
    every_rate = [r["Statement"]["RateBasedStatement"] for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    rate = [r for r in every_rate if "ScopeDownStatement" not in r]
    assert rate and all(r["Limit"] == 1000 and r["EvaluationWindowSec"] == 60 for r in rate)
    assert {r["AggregateKeyType"] for r in rate} == {"FORWARDED_IP", "IP"}
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert {"AWSManagedRulesBotControlRuleSet", "AWSManagedRulesCommonRuleSet"} <= groups
    association = props(sam, "WebAclAssociation")["ResourceArn"]["Fn::Sub"]
    assert "/restapis/${RestAPI}/stages/${RestAPIapiStage}" in association
    assert "REST API stage" in sam["Metadata"]["WafAssociation"]


def test_waf_limits_auth_routes_tighter_than_the_rest(packaged: dict[str, Any]) -> None:
    acl = props(packaged["sam"], "WebAcl")
    scoped = [
        r["Statement"]["RateBasedStatement"]
        for r in acl["Rules"]
        if "ScopeDownStatement" in r["Statement"].get("RateBasedStatement", {})
    ]
    assert {r["AggregateKeyType"] for r in scoped} == {"FORWARDED_IP", "IP"}
    for rule in scoped:
        match = rule["ScopeDownStatement"]["ByteMatchStatement"]
        assert match["SearchString"] == "/auth/" and match["PositionalConstraint"] == "STARTS_WITH"
        assert rule["Limit"] / rule["EvaluationWindowSec"] < 1000 / 60


def test_post_confirmation_trigger_is_wired_into_the_user_pool(packaged: dict[str, Any]) -> None:
    sam, cfn = packaged["sam"], packaged["cfn"]
    assert sam["Resources"]["PostConfirmation"]["Type"] == "AWS::Serverless::Function"
    pool = props(cfn, "UserPool")
    assert pool["LambdaConfig"]["PostConfirmation"] == {"Fn::GetAtt": ["PostConfirmation", "Arn"]}
    permission = props(cfn, "PostConfirmationInvokePermission")
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert permission["FunctionName"] == {"Ref": "PostConfirmation"}
    # No cycle: the function names neither the pool nor what is built on it.
    function = json.dumps(cfn["Resources"]["PostConfirmation"])
    assert "UserPool" not in function and "RestAPI" not in function and "AssetsDistribution" not in function
    policy = props(cfn, "PostConfirmationRolePolicy")
    assert policy["Roles"] == [{"Ref": "PostConfirmationRole"}]
    assert "UserPool" not in json.dumps(cfn["Resources"]["PostConfirmationRole"])


def test_stage_throttles_traces_logs_and_has_a_partner_usage_plan(packaged: dict[str, Any]) -> None:
    sam, cfn = packaged["sam"], packaged["cfn"]
    stage = props(cfn, "RestAPIapiStage")
    default = next(s for s in stage["MethodSettings"] if s["ResourcePath"] == "/*")
    assert default["ThrottlingRateLimit"] > 0 and default["ThrottlingBurstLimit"] >= default["ThrottlingRateLimit"]
    assert stage["TracingEnabled"] is True
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    plan = props(sam, "PartnerUsagePlan")
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPIapiStage"}}]
    assert plan["Throttle"]["RateLimit"] > 0 and plan["Quota"]["Period"] == "MONTH"
    for app in edge.CLIENT_APPS:
        plan = props(sam, f"{app}UsagePlan")
        assert plan["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPIapiStage"}}]
        assert plan["Throttle"]["RateLimit"] > 0 and plan["Quota"]["Period"] == "MONTH"
        key = props(sam, f"{app}UsagePlanKey")
        assert key == {
            "KeyId": {"Ref": f"{app}ApiKey"},
            "KeyType": "API_KEY",
            "UsagePlanId": {"Ref": f"{app}UsagePlan"},
        }
        assert "api_key_required" in sam["Resources"][f"{app}UsagePlan"]["Metadata"]["ApiKeyRequired"]


def test_stage_cache_is_on_for_the_public_catalog_gets_only(packaged: dict[str, Any]) -> None:
    cfn = packaged["cfn"]
    stage = props(cfn, "RestAPIapiStage")
    assert stage["CacheClusterEnabled"] is True
    cached = {
        (s["HttpMethod"], s["ResourcePath"].replace("~1", "/"))
        for s in stage["MethodSettings"]
        if s.get("CachingEnabled")
    }
    assert cached == {("GET", path) for path in edge.CACHED_GETS}
    assert next(s for s in stage["MethodSettings"] if s["ResourcePath"] == "/*")["CachingEnabled"] is False
    body = props(cfn, "RestAPI")["Body"]
    for path, query in edge.CACHED_GETS.items():
        operation = body["paths"][path]["get"]
        # Public (no authorizer); the API key only names the client application.
        assert operation.get("security", []) == [{"api_key": []}], f"{path} is cached, so it must be public"
        keys = operation["x-amazon-apigateway-integration"]["cacheKeyParameters"]
        assert {f"method.request.querystring.{q}" for q in query} <= set(keys)
        assert {f"method.request.path.{p[1:-1]}" for p in path.split("/") if p.startswith("{")} <= set(keys)
        declared = {(p["in"], p["name"]) for p in operation["parameters"]}
        assert {("query", q) for q in query} <= declared
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            if [s for s in operation.get("security", []) if s != {"api_key": []}]:
                assert ("GET", path) not in cached or method != "get"
                assert "cacheKeyParameters" not in operation.get("x-amazon-apigateway-integration", {})


def test_every_query_parameter_of_a_cached_get_reaches_the_app_and_keys_the_cache() -> None:
    """API Gateway forwards (and keys its cache on) only the query parameters the edge lists:
    one left out would never reach the function, or share another query's cached answer."""
    import app as app_module

    for op in app_module.api.operations:
        if op.method == "GET" and op.path in edge.CACHED_GETS and op.query_model is not None:
            assert set(op.query_model.model_fields) == set(edge.CACHED_GETS[op.path]), op.path


def test_authorizer_trusts_the_stack_user_pool(packaged: dict[str, Any]) -> None:
    body = props(packaged["sam"], "RestAPI")["DefinitionBody"]
    authorizer = body["securityDefinitions"]["chowline-users"]["x-amazon-apigateway-authorizer"]
    assert authorizer["providerARNs"] == [{"Fn::GetAtt": ["UserPool", "Arn"]}]


def test_gateway_responses_are_problem_documents_without_cors(packaged: dict[str, Any]) -> None:
    responses = props(packaged["sam"], "RestAPI")["GatewayResponses"]
    wanted = {
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "THROTTLED",
        "WAF_FILTERED",
        "INTEGRATION_TIMEOUT",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "MISSING_AUTHENTICATION_TOKEN",
    }
    assert wanted <= set(responses)
    for kind in wanted:
        response = responses[kind]
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/problem+json'"
        assert not [name for name in headers if name.lower().startswith("access-control-")]
        body = response["ResponseTemplates"]["application/json"]
        assert '"type": "https://chowline.dev/problems/' in body and '"title"' in body
        assert "$context.error.messageString" in body
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    assert responses["THROTTLED"]["StatusCode"] == "429"
    assert responses["INTEGRATION_TIMEOUT"]["StatusCode"] == "504"


def test_cloudfront_is_https_only_with_origin_access_control(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    for logical in ("Distribution", "AssetsDistribution"):
        config = props(sam, logical)["DistributionConfig"]
        behaviors = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
        assert {b["ViewerProtocolPolicy"] for b in behaviors} <= {"https-only", "redirect-to-https"}
        for origin in config["Origins"]:
            if "S3OriginConfig" in origin:
                assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
            else:
                assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    api = props(sam, "Distribution")["DistributionConfig"]["CacheBehaviors"][0]
    assert api["PathPattern"] == "/api/*" and api["ViewerProtocolPolicy"] == "https-only"
    assert props(sam, "Distribution")["DistributionConfig"]["Aliases"]["Fn::If"][0] == "HasCustomDomain"
    assert "HasCustomDomain" in sam["Conditions"]
    assert resources(sam, "AWS::S3::Bucket").keys() >= {"WebBucket", "AssetsBucket"}


def test_cognito_optional_mfa_idps_behind_conditions_and_a_code_flow_client(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    pool = props(sam, "UserPool")
    assert pool["MfaConfiguration"] == "OPTIONAL" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert sam["Resources"]["GoogleIdentityProvider"]["Condition"] == "HasGoogle"
    assert sam["Resources"]["AppleIdentityProvider"]["Condition"] == "HasApple"
    client = props(sam, "WebClient")
    assert client["AllowedOAuthFlows"] == ["code"] and client["GenerateSecret"] is False
    assert "UserPoolDomain" in sam["Resources"]


def test_dax_is_off_by_default_and_only_then_sets_dax_endpoint(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    assert sam["Parameters"]["EnableDax"]["Default"] == "false"
    assert sam["Resources"]["DaxCluster"]["Condition"] == "DaxOn"
    variables = props(sam, "APIHandler")["Environment"]["Variables"]
    assert variables["DAX_ENDPOINT"]["Fn::If"][0] == "DaxOn"
    assert variables["DAX_ENDPOINT"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert "TradeOff" in sam["Resources"]["DaxCluster"]["Metadata"]
    # The cluster's TTLs match the other caches; the API function joins the cluster's VPC.
    assert props(sam, "DaxCluster")["ParameterGroupName"] == {"Ref": "DaxParameterGroup"}
    ttls = props(sam, "DaxParameterGroup")["ParameterNameValues"]
    assert ttls == {"record-ttl-millis": "30000", "query-ttl-millis": "30000"}
    vpc = props(sam, "APIHandler")["VpcConfig"]["Fn::If"]
    assert vpc[0] == "DaxOn" and vpc[1]["SubnetIds"] == {"Ref": "DaxSubnetIds"}


# --- functions and event sources --------------------------------------------------------


def test_function_sizes_timeouts_and_reserved_concurrency(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    for function, logical in FUNCTIONS.items():
        size, templated = sizes()[function], props(sam, logical)
        assert templated["MemorySize"] == size["lambda_memory_size"], function
        assert templated["Timeout"] == size["lambda_timeout"], function
        assert templated.get("ReservedConcurrentExecutions") == size.get("reserved_concurrency"), function
        assert templated["Tracing"] == "Active"
        assert templated["Architectures"] == ["arm64"]
    api, processor, payment = (props(sam, x) for x in ("APIHandler", "ProcessOrder", "Payment"))
    assert api["Timeout"] < 29  # API Gateway's integration timeout
    assert payment["Timeout"] < processor["Timeout"]
    mapping = resources(packaged["cfn"], "AWS::Lambda::EventSourceMapping")["ProcessOrderProcessOrderSqsEventSource"]
    assert mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"] == payment["ReservedConcurrentExecutions"]
    queue = props(sam, "OrdersQueue")
    assert queue["VisibilityTimeout"] >= 6 * processor["Timeout"]
    for group in resources(sam, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] > 0


def test_event_sources_report_batch_item_failures(packaged: dict[str, Any]) -> None:
    mappings = resources(packaged["cfn"], "AWS::Lambda::EventSourceMapping")
    sqs = mappings["ProcessOrderProcessOrderSqsEventSource"]["Properties"]
    stream = mappings["NotifyNotifyDynamodbEventSource"]["Properties"]
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["EventSourceArn"] == {"Fn::Sub": "${OrdersQueue.Arn}"}
    assert (
        sqs["BatchSize"] == 10
        and sqs["ScalingConfig"]["MaximumConcurrency"] == sizes()["payment"]["reserved_concurrency"]
    )
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["EventFailuresQueue", "Arn"]}
    assert stream["EventSourceArn"] == {"Fn::Sub": "${OrdersTable.StreamArn}"}


def test_dead_letter_queues(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    redrive = props(sam, "OrdersQueue")["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]}
    assert 1 < redrive["maxReceiveCount"] <= 10
    rule = resources(packaged["cfn"], "AWS::Events::Rule")["SweepPendingOrdersSweepPendingOrdersEvent"]
    assert rule["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventFailuresQueue", "Arn"]}


def test_functions_get_the_stack_outputs_not_copied_arns(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    for function, logical in FUNCTIONS.items():
        function_props = props(sam, logical)
        assert function_props["FunctionName"] == {"Fn::Sub": f"chowline-${{Stage}}-{function}"}
        variables = function_props["Environment"]["Variables"]
        if function in POOL_TRIGGERS:
            assert variables["USERS_TABLE"] == {"Ref": "UsersTable"} and "USER_POOL_ID" not in variables
            continue
        assert variables["ORDERS_TABLE"] == {"Ref": "OrdersTable"}
        assert variables["ORDERS_QUEUE_URL"] == {"Ref": "OrdersQueue"}
        assert variables["USER_POOL_ID"] == {"Ref": "UserPool"}
        assert variables["ORDER_EVENTS_TOPIC_ARN"] == {"Ref": "OrderEventsTopic"}
        assert "secretsmanager" in variables["CURSOR_KEY"]["Fn::Sub"]
        literal = [v for v in variables.values() if isinstance(v, str) and v.startswith("arn:")]
        assert literal == []


def test_each_function_has_its_own_least_privilege_role(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    roles = resources(sam, "AWS::IAM::Role")
    assert "DefaultRole" not in roles
    for function, logical in FUNCTIONS.items():
        role = props(sam, logical)["Role"]["Fn::GetAtt"][0]
        policies = [p for p in roles[role]["Properties"]["Policies"] if "PolicyDocument" in p]
        if function in POOL_TRIGGERS:  # its policy names the pool: a resource of its own, no cycle
            assert policies == [], function
            policies = [props(sam, f"{role}Policy")]
        assert len(policies) == 1, function
        for statement in policies[0]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions and not [a for a in actions if a.endswith(":*")]
            if statement["Resource"] == "*":
                assert all(a.startswith("xray:") for a in actions), statement


def test_alarms_reach_the_operators_topic(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    alarms = resources(sam, "AWS::CloudWatch::Alarm")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "OperatorsTopic"}]
    dlq = props(sam, "OrdersDlqDepthAlarm")
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["OrdersDeadLetterQueue", "QueueName"]}
    assert dlq["Threshold"] == 0 and dlq["ComparisonOperator"] == "GreaterThanThreshold"
    rate = props(sam, "Api5xxRateAlarm")
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in rate["Metrics"] if "MetricStat" in m} == {
        "5XXError",
        "Count",
    }
    assert props(sam, "ApiLatencyP99Alarm")["ExtendedStatistic"] == "p99"
    for logical in FUNCTIONS.values():
        assert f"{logical}ErrorsAlarm" in alarms and f"{logical}ThrottlesAlarm" in alarms
    assert "Dashboard" in sam["Resources"]


def test_bot_control_is_scoped_to_sign_in_and_orders(packaged: dict[str, Any]) -> None:
    acl = props(packaged["sam"], "WebAcl")
    [bot] = [
        r["Statement"]["ManagedRuleGroupStatement"]
        for r in acl["Rules"]
        if r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesBotControlRuleSet"
    ]
    scoped = json.dumps(bot["ScopeDownStatement"])
    assert '"/auth/"' in scoped and '"/orders"' in scoped and '"POST"' in scoped


def test_no_operation_answers_cors_preflights(packaged: dict[str, Any]) -> None:
    """Same-origin only: chalice adds OPTIONS methods for routes with CORS; there are none."""
    body = props(packaged["sam"], "RestAPI")["DefinitionBody"]
    assert body["paths"], "the packaged API has its routes"
    assert [path for path, item in body["paths"].items() if "options" in item] == []


def test_api_keys_are_required_by_the_route_table_and_refused_as_problems(packaged: dict[str, Any]) -> None:
    from chalicelib.entry.routing import KEYLESS_PATHS

    body = props(packaged["cfn"], "RestAPI")["Body"]
    assert "api_key" in body["securityDefinitions"]
    for path, item in body["paths"].items():
        for method, operation in item.items():
            keyed = {"api_key": []} in operation.get("security", [])
            assert keyed is (path not in KEYLESS_PATHS), (method, path)
    refused = props(packaged["sam"], "RestAPI")["GatewayResponses"]["API_KEY"]
    assert refused["StatusCode"] == "403"
    assert refused["ResponseParameters"]["Headers"]["Content-Type"] == "'application/problem+json'"
    # The function hands out the same web key the gateway accepts.
    env = props(packaged["sam"], "APIHandler")["Environment"]["Variables"]
    assert env["WEB_API_KEY"] == props(packaged["sam"], "WebApiKey")["Value"]


# --- the cost model and the docs read this template ---------------------------------------


def test_the_cost_model_prices_what_the_template_provisions(packaged: dict[str, Any]) -> None:
    from bench import cost

    sam = packaged["sam"]
    deployed = cost.deployed_from(sam)
    assert deployed.memory_mb == {f: size["lambda_memory_size"] for f, size in sizes().items()}
    assert deployed.waf_rules == tuple(rule["Name"] for rule in props(sam, "WebAcl")["Rules"])
    assert deployed.bot_control_level == "COMMON"
    assert deployed.stage_cache_gb == props(sam, "RestAPI")["CacheClusterSize"]
    assert deployed.cognito_tier == props(sam, "UserPool")["UserPoolTier"] == "LITE"
    assert deployed.trace_rate == props(sam, "TraceSampling")["SamplingRule"]["FixedRate"] == 0.01
    assert deployed.alarms == len(resources(sam, "AWS::CloudWatch::Alarm"))
    lines = cost.model(cost.Inputs(deployed=deployed))
    [rules] = [line for line in lines if line.price == "waf_rule"]
    assert rules.quantity == len(deployed.waf_rules)
    assert [line for line in lines if line.price.startswith("apigw_cache_")], "the stage cache is priced"
    [pool] = [line for line in lines if line.service == "Cognito"]
    assert pool.price == "cognito_lite"


def test_the_figures_the_docs_quote_are_the_templates(packaged: dict[str, Any]) -> None:
    from bench import cost

    assert cost.stale_docs(packaged["sam"]) == [], "run `make cost-docs` (python -m bench.cost --write-docs)"
    for doc in cost.DOCS:
        names = {m.group("name") for m in cost.BLOCK.finditer(doc.read_text())}
        assert names, f"{doc.name} quotes no generated figures"


# --- the WebSocket API ------------------------------------------------------------------


def test_websocket_api_routes_stage_throttling_alarms_and_url(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    api = props(sam, "WebsocketAPI")
    assert api["ProtocolType"] == "WEBSOCKET"
    routes = {r["Properties"]["RouteKey"] for r in resources(sam, "AWS::ApiGatewayV2::Route").values()}
    assert routes == {"$connect", "$default", "$disconnect"}
    stage = props(sam, "WebsocketAPIStage")
    assert stage["StageName"] == "api"
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] >= stage["DefaultRouteSettings"]["ThrottlingRateLimit"]
    assert "DestinationArn" in stage["AccessLogSettings"]
    assert "WebsocketAPI" in json.dumps(sam["Outputs"]["WebSocketUrl"]["Value"])
    alarms = resources(sam, "AWS::CloudWatch::Alarm")
    assert {"WebsocketIntegrationErrorAlarm", "WebsocketExecutionErrorAlarm"} <= set(alarms)
    notify = props(sam, "Notify")["Environment"]["Variables"]
    assert "${WebsocketAPI}" in notify["WEBSOCKET_ENDPOINT"]["Fn::Sub"]
    assert notify["CONNECTIONS_TABLE"] == {"Ref": "ConnectionsTable"}
    assert notify["PUSH_FCM_ARN"] == {"Ref": "PushFcmApplicationArn"}


def test_only_the_posting_functions_may_manage_connections(packaged: dict[str, Any]) -> None:
    sam = packaged["sam"]
    roles = resources(sam, "AWS::IAM::Role")
    granted = set()
    for function, logical in FUNCTIONS.items():
        role = roles[props(sam, logical)["Role"]["Fn::GetAtt"][0]]
        if "execute-api:ManageConnections" in json.dumps(role["Properties"]["Policies"]):
            granted.add(function)
    assert granted == {"notify", "websocket_message"}

"""``make package``: one CloudFormation (SAM) template for the whole production stack.

1. Composes ``dist/merge-template.json`` from ``infra/template.json`` (stateful resources),
   ``infra/edge.json`` (the edge and static overrides) and, per function the app declares,
   its physical name, its environment (the stack's own Ref/GetAtt, the same output mapping
   ``make deploy`` and the local stack use) and its role policy from
   ``.chalice/policy-<function>.json`` (``${...}`` placeholders become ``Fn::Sub``).
2. Runs ``chalice package --merge-template`` offline: fake credentials, a region.
3. Rewrites ``deployment.zip`` with only what the Lambda runtime lacks: the AWS SDK the
   runtime ships (boto3, botocore and their dependencies, pulled in here by aws-xray-sdk's
   dependency on botocore) is left out, and compiled bytecode is added so cold starts
   skip compiling.

Overrides of functions or routes the app does not declare are left out (and reported):
a partial resource without a Type would break the template.
"""

from __future__ import annotations

import argparse
import compileall
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from chalicelib.settings import PUSH_PLATFORMS, push_variable
from devtools.functions import camel, declared, logical_id
from devtools.provision import environment, push_parameter

ROOT = Path(__file__).resolve().parent.parent
# User-pool triggers: the pool references the function, so the function must not reference
# the pool or anything built on it (the API, the distribution): its environment is only
# these variables, and its policy is a policy resource of its own, attached to its role.
POOL_TRIGGERS = {"post_confirmation": ("CHOWLINE_STAGE", "USERS_TABLE")}
SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "packaging", "AWS_SECRET_ACCESS_KEY": "packaging", "AWS_SESSION_TOKEN": ""}


def role_id(function: str) -> str:
    return camel(function) + "Role"


def deep_merge(base: Any, top: Any) -> Any:
    """``top`` over ``base``: dictionaries merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(top, dict):
        merged = dict(base)
        for key, value in top.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(top)


def to_sub(node: Any) -> Any:
    """Policy-file placeholders (``${Stage}``, ``${OrdersQueue.Arn}``) as CloudFormation Fn::Sub."""
    if isinstance(node, dict):
        return {k: to_sub(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_sub(v) for v in node]
    if isinstance(node, str) and "${" in node:
        return {"Fn::Sub": node}
    return node


def load_policy(project_dir: Path, function: str) -> dict[str, Any]:
    return json.loads((project_dir / ".chalice" / f"policy-{function}.json").read_text())


def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    outputs = {key: out["Value"] for key, out in template["Outputs"].items()}
    env = environment(outputs, "")
    env.update(
        {
            "CHOWLINE_STAGE": {"Ref": "Stage"},
            "PAYMENT_FUNCTION_NAME": {"Fn::Sub": "chowline-${Stage}-payment"},
            "CURSOR_KEY": {"Fn::Sub": "{{resolve:secretsmanager:${CursorKeySecret}:SecretString}}"},
            "ASSETS_BASE_URL": {"Fn::Sub": "https://${AssetsDistribution.DomainName}"},
            "WEBSOCKET_ENDPOINT": {
                "Fn::Sub": "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"
            },
            "WS_URL": {"Fn::Sub": "wss://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"},
            **{push_variable(p): {"Ref": push_parameter(p)} for p in PUSH_PLATFORMS},
        }
    )
    return env


def compose(project_dir: Path, stage: str, app: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The merge template for ``app`` (see ``declared``) and what was left out."""
    template = json.loads((project_dir / "infra" / "template.json").read_text())
    edge = json.loads((project_dir / "infra" / "edge.json").read_text())
    merged = deep_merge(template, edge)
    merged["Parameters"]["Stage"]["Default"] = stage
    resources = merged["Resources"]
    env = function_environment(template)
    for function in app["functions"]:
        logical = logical_id(function)
        override = resources.setdefault(logical, {})
        props = override.setdefault("Properties", {})
        props["FunctionName"] = {"Fn::Sub": f"chowline-${{Stage}}-{function}"}
        # Chalice names the API handler's log group after a resource that does not exist
        # (${ApiHandler}); a fixed name also lets the group exist before the function logs.
        log_group = camel(function) + "LogGroup"
        name = {"LogGroupName": {"Fn::Sub": f"/aws/lambda/chowline-${{Stage}}-{function}"}}
        resources[log_group] = deep_merge(resources.get(log_group, {}), {"Properties": name})
        override["DependsOn"] = [log_group]
        variables = props.setdefault("Environment", {}).setdefault("Variables", {})
        props["Environment"]["Variables"] = {**env, **variables}
        policy = {
            "PolicyName": f"{role_id(function)}Policy",
            "PolicyDocument": to_sub(load_policy(project_dir, function)),
        }
        policies: list[Any] = [policy]
        if function in POOL_TRIGGERS:
            props["Environment"]["Variables"] = {k: v for k, v in env.items() if k in POOL_TRIGGERS[function]}
            resources[f"{role_id(function)}Policy"] = {
                "Type": "AWS::IAM::Policy",
                "Properties": {**policy, "Roles": [{"Ref": role_id(function)}]},
            }
            policies = []
        role: dict[str, Any] = {"Properties": {"Policies": policies}}
        if function == "api_handler":
            policies.append(_dax_policy())
            role["Properties"]["ManagedPolicyArns"] = [
                {
                    "Fn::If": [
                        "DaxOn",
                        {
                            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
                        },
                        {"Ref": "AWS::NoValue"},
                    ]
                }
            ]
        resources[role_id(function)] = deep_merge(resources.get(role_id(function), {}), role)
    left_out = _prune(merged, app)
    return merged, left_out


def _dax_policy() -> dict[str, Any]:
    return {
        "Fn::If": [
            "DaxOn",
            {
                "PolicyName": "MenuCache",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["dax:GetItem", "dax:Query", "dax:BatchGetItem"],
                            "Resource": {"Fn::GetAtt": ["DaxCluster", "Arn"]},
                        }
                    ],
                },
            },
            {"Ref": "AWS::NoValue"},
        ]
    }


def _prune(merged: dict[str, Any], app: dict[str, Any]) -> list[str]:
    resources = merged["Resources"]
    left_out: list[str] = []
    generated = {logical_id(f) for f in app["functions"]}
    generated |= {role_id(f) for f in app["functions"]}
    generated |= {camel(f) + "LogGroup" for f in app["functions"]}
    if app.get("websocket"):
        generated |= {"WebsocketAPI", "WebsocketAPIStage", "WebsocketAPIDeployment"}
    if app["routes"]:
        generated |= {"RestAPI", "RestAPIapiStage", "RestAPIDeployment", "APIHandlerInvokePermission"}
        api = resources.get("RestAPI", {}).get("Properties", {})
        paths = api.get("DefinitionBody", {}).get("paths", {})
        for path in list(paths):
            for method in list(paths[path]):
                if method.upper() not in app["routes"].get(path, []):
                    del paths[path][method]
                    left_out.append(f"{method.upper()} {path}")
            if not paths[path]:
                del paths[path]
        settings = api.get("MethodSettings", [])
        api["MethodSettings"] = [s for s in settings if _setting_path(s) == "/*" or _setting_path(s) in paths]
    for logical in [k for k, v in resources.items() if "Type" not in v and k not in generated]:
        del resources[logical]
        left_out.append(logical)
    known = set(resources) | generated | set(merged.get("Parameters", {}))
    changed = True
    while changed:
        changed = False
        for logical in [k for k, v in resources.items() if not _refs(v) <= known | {k}]:
            del resources[logical]
            known.discard(logical)
            left_out.append(logical)
            changed = True
    for name in [k for k, v in merged.get("Outputs", {}).items() if not _refs(v) <= known]:
        del merged["Outputs"][name]
    return left_out


def _setting_path(setting: dict[str, Any]) -> str:
    return setting["ResourcePath"].replace("~1", "/")


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str) and not value.startswith("AWS::"):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                names = {m for m in SUB_NAME.findall(text)}
                if isinstance(value, list):
                    names -= set(value[1])
                    found |= _refs(value[1])
                found |= names
            elif key == "DependsOn":
                found |= {value} if isinstance(value, str) else set(value)
            else:
                found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def chalice_package(project_dir: Path, stage: str, out: Path, merge_template: Path) -> None:
    env = {**os.environ, **FAKE_CREDENTIALS}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.pop("AWS_PROFILE", None)
    chalice = Path(sys.executable).parent / "chalice"
    command = [str(chalice), "--project-dir", str(project_dir), "package", "--stage", stage]
    command += ["--merge-template", str(merge_template), str(out)]
    subprocess.run(command, check=True, env=env)


# What every Lambda Python runtime ships (the AWS SDK and its dependencies), by distribution
# name: the function uses the runtime's copy, so the zip carries none. The code calls only
# long-standing APIs of botocore; requirements-dev.txt pins the SDK for development and tests.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})


# Parts of dependencies no function can load, left out of the zip (4.5 of Stripe's 5.8 MB):
# the SDK's request-parameter TypedDicts, imported only under TYPE_CHECKING, and its API v2
# event classes (the webhook gets v1 snapshot events; only a v2 event object loads them).
NEVER_LOADED = ("stripe/params/", "stripe/events/")


# Shipped without bytecode: Stripe's SDK (1.5 MB of .pyc) loads in the same ~450 ms with or
# without it (measured: its import is module execution, not compiling), and only the
# payment function and the webhook load it.
NO_BYTECODE = re.compile(r"[/\\]stripe[/\\]")


def runtime_provided_files(names: list[str], read: Any) -> tuple[set[str], list[str]]:
    """The zip's files that belong to a RUNTIME_PROVIDED distribution (from each
    ``*.dist-info/RECORD``), and those distributions as ``name==version``."""
    dropped: set[str] = set()
    found: list[str] = []
    for meta in (n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1):
        headers = dict(
            line.split(": ", 1) for line in read(meta).decode().splitlines() if ": " in line and line[0] != " "
        )
        name = headers.get("Name", "").lower().replace("_", "-")
        if name not in RUNTIME_PROVIDED:
            continue
        found.append(f"{name}=={headers.get('Version', '?')}")
        info_dir = meta.rsplit("/", 1)[0]
        record = read(f"{info_dir}/RECORD").decode()
        dropped |= {line.split(",", 1)[0] for line in record.splitlines() if line}
        dropped |= {n for n in names if n.startswith((f"{info_dir}/", info_dir.replace(".dist-info", ".data/")))}
    return dropped, sorted(found)


def finish_zip(zip_path: Path, runtime: str) -> dict[str, Any]:
    """Rewrites the zip without what the runtime provides and with ``__pycache__/*.cpython-XY.pyc``
    beside every module. The bytecode is unchecked-hash: Lambda's read-only, re-timestamped
    copy of the code is never compared with the sources, and the magic number must match
    the runtime."""
    wanted = runtime.removeprefix("python")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted != here:
        raise SystemExit(f"bytecode for {runtime} needs Python {wanted}; this is {here}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(zip_path) as source:
            dropped, left_out = runtime_provided_files(source.namelist(), source.read)
            dropped |= {name for name in source.namelist() if name.startswith(NEVER_LOADED)}
            infos = [i for i in source.infolist() if i.filename not in dropped]
            for info in infos:
                source.extract(info, root)
        compileall.compile_dir(
            root,
            quiet=2,
            workers=1,
            rx=NO_BYTECODE,
            invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        by_name = {info.filename: info for info in infos}
        added = 0
        rebuilt = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for info in infos:
                if not info.is_dir():
                    target.writestr(info, (root / info.filename).read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
            for pyc in sorted(root.rglob("*.pyc")):
                name = pyc.relative_to(root).as_posix()
                if name in by_name:
                    continue
                source_name = name.replace("__pycache__/", "").rsplit(".cpython-", 1)[0] + ".py"
                entry = zipfile.ZipInfo(
                    name, by_name[source_name].date_time if source_name in by_name else (2020, 1, 1, 0, 0, 0)
                )
                entry.external_attr = 0o644 << 16
                target.writestr(entry, pyc.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
                added += 1
        rebuilt.replace(zip_path)
    return {"pyc_added": added, "runtime_provided_left_out": left_out, "files_left_out": len(dropped)}


def check_stage(project_dir: Path, stage: str) -> None:
    """Refuses a stage the app would refuse to start on (prod without Stripe), and secrets
    named outside what the functions' policies may read (``chowline-<stage>-*``)."""
    from chalicelib.settings import Settings

    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    variables = config["stages"].get(stage, {}).get("environment_variables", {})
    settings = Settings.from_env({**variables, "CHOWLINE_STAGE": variables.get("CHOWLINE_STAGE", stage)})
    problems = settings.missing()
    for name, secret in (
        ("STRIPE_API_KEY_SECRET", settings.stripe_api_key_secret),
        ("STRIPE_WEBHOOK_SECRET", settings.stripe_webhook_secret),
    ):
        if secret and not secret.rsplit(":", 1)[-1].startswith(f"chowline-{stage}-"):
            problems.append(f"{name}={secret}: the policies grant only secrets named chowline-{stage}-*")
    if problems:
        raise SystemExit(
            f"Not packaging stage {stage}: set in .chalice/config.json (stages.{stage}.environment_variables) "
            + "; ".join(problems)
        )


def package(project_dir: Path, stage: str, out: Path) -> dict[str, Any]:
    check_stage(project_dir, stage)
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    app = declared(project_dir)
    merge, left_out = compose(project_dir, stage, app)
    merge_path = out / "merge-template.json"
    merge_path.write_text(json.dumps(merge, indent=2) + "\n")
    if left_out:
        sys.stderr.write("not declared by the app, left out: " + ", ".join(left_out) + "\n")
    chalice_package(project_dir, stage, out, merge_path)
    packaged_at = time.monotonic()
    sam = json.loads((out / "sam.json").read_text())
    runtime = next(
        r["Properties"]["Runtime"] for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    )
    unpacked_bytes = (out / "deployment.zip").stat().st_size
    finished = finish_zip(out / "deployment.zip", runtime)
    report = {
        "stage": stage,
        "functions": app["functions"],
        "left_out": left_out,
        "chalice_package_seconds": round(packaged_at - started, 1),
        "bytecode_seconds": round(time.monotonic() - packaged_at, 1),
        **finished,
        "chalice_zip_bytes": unpacked_bytes,
        "zip_bytes": (out / "deployment.zip").stat().st_size,
    }
    (out / "package-report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    parser.add_argument("--out", type=Path, default=None, help="default: <project-dir>/dist")
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    report = package(project_dir, args.stage, (args.out or project_dir / "dist").resolve())
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()

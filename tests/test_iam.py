"""Each function's policy (.chalice/policy-<function>.json) allows every AWS call its code
can make, and nothing broad.

How the calls are found (a static over-approximation, kept simple on purpose):
1. app.py: each Lambda's entry points (routes and middleware -> api_handler; the event
   decorators -> their function) and the ``container().<name>`` attributes they use,
   through module-level helpers of app.py too.
2. chalicelib/bootstrap.py: what each of those container properties builds (other
   properties, and classes imported from chalicelib modules), transitively.
3. Those modules and the chalicelib modules they import, transitively; in them, calls on a
   boto3 client: ``<x>.get("dynamodb").put_item(``, or on a name/property/attribute bound to
   ``<x>.get("<service>")``. Calls inside module-level functions count only where a reached
   module calls that function.
4. The boto3 method becomes the IAM action (put_item -> dynamodb:PutItem), with the few
   that differ mapped: presigned posts/URLs and head_object, transactions (the Put/Update/
   Delete/ConditionCheck keys in the module), lambda invoke, Powertools' DynamoDB persistence.

Limits: actions only (which table a call reaches is checked by hand, the policies name them
by chowline-${Stage}-* patterns); clients passed around under other names or created
elsewhere than ``.get("<service>")`` are not seen; a module reached for one function counts
for all its calls. Cognito's public-client calls (sign-up, login, ...) need no IAM permission.
"""

from __future__ import annotations

import ast
import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devtools.functions import app_functions, sizes

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = app_functions()
SERVICES = {"dynamodb", "sqs", "sns", "s3", "cognito-idp", "lambda", "secretsmanager", "ssm", "dax", "events", "kms"}
SERVICES |= {"apigatewaymanagementapi"}
API_DECORATORS = {"route", "middleware"}
EVENT_DECORATORS = {"on_sqs_message", "on_dynamodb_record", "schedule", "lambda_function"}
# Chalice names each WebSocket route's function after the route.
WEBSOCKET_DECORATORS = {
    "on_ws_connect": "websocket_connect",
    "on_ws_message": "websocket_message",
    "on_ws_disconnect": "websocket_disconnect",
}
PUBLIC_COGNITO = {
    "sign_up",
    "confirm_sign_up",
    "initiate_auth",
    "respond_to_auth_challenge",
    "forgot_password",
    "confirm_forgot_password",
    "resend_confirmation_code",
    "get_user",
    "global_sign_out",
    "revoke_token",
    "associate_software_token",
    "verify_software_token",
    "set_user_mfa_preference",
}
SPECIAL = {
    ("s3", "generate_presigned_post"): {"s3:PutObject"},
    ("s3", "head_object"): {"s3:GetObject"},
    # The image confirmation reads and copies the very version it checked.
    ("s3", "copy_object"): {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"},
    ("lambda", "invoke"): {"lambda:InvokeFunction"},
    ("dynamodb", "transact_get_items"): {"dynamodb:GetItem"},
    ("sqs", "send_message_batch"): {"sqs:SendMessage"},
    ("sqs", "delete_message_batch"): {"sqs:DeleteMessage"},
    ("sns", "publish_batch"): {"sns:Publish"},
    ("cognito-idp", "admin_set_user_mfa_preference"): {"cognito-idp:AdminSetUserMFAPreference"},
    ("apigatewaymanagementapi", "post_to_connection"): {"execute-api:ManageConnections"},
    ("apigatewaymanagementapi", "delete_connection"): {"execute-api:ManageConnections"},
    ("apigatewaymanagementapi", "get_connection"): {"execute-api:ManageConnections"},
}
TRANSACTION_KEYS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# Reached through a shared service or module, never called from this function's entry
# points (read in the code): the policy leaves them out on purpose.
REACHED_NOT_CALLED = {
    ("api_handler", "sns:Publish"): "GET /users/me/notifications only reads the inbox; notify publishes",
    ("api_handler", "chalicelib.adapters.notifications_repo"): "the API only queries the inbox",
    ("notify", "chalicelib.adapters.dynamo"): "notify never pages the inbox (query_page)",
    ("api_handler", "cognito-idp:AdminGetUser"): (
        "only the local stack reads a user's attributes, to run the post-confirmation step the emulator does not fire"
    ),
    **{
        ("post_confirmation", action): "the trigger only adds to a group and fills the profile (services/signup.py)"
        for action in (
            "cognito-idp:AdminDeleteUser",
            "cognito-idp:AdminGetUser",
            "cognito-idp:AdminSetUserMFAPreference",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        )
    },
    ("notify", "sns:CreatePlatformEndpoint"): "devices are registered through the API; notify only pushes",
    ("notify", "dynamodb:BatchGetItem"): "notify only lists the couriers on shift (by_shift); the API reads the rest",
    ("api_handler", "chalicelib.adapters.sockets"): "the API posts to no socket; notify and the ping reply do",
    ("websocket_connect", "chalicelib.adapters.sockets"): "connect records the connection and posts nothing",
    ("websocket_connect", "dynamodb:Query"): "connect looks no connection up",
    ("websocket_connect", "dynamodb:DeleteItem"): "connect removes nothing",
    ("websocket_message", "dynamodb:PutItem"): "a message records nothing",
    ("websocket_message", "dynamodb:Query"): "the pong goes to the sender's connection, known from the event",
    ("websocket_disconnect", "chalicelib.adapters.sockets"): "disconnect posts nothing",
    ("websocket_disconnect", "dynamodb:PutItem"): "disconnect only removes the row",
    ("websocket_disconnect", "dynamodb:Query"): "disconnect only removes the row",
    **{
        (function, "sqs:ChangeMessageVisibility"): "only the processor delays a message it received"
        for function in ("api_handler", "sweep_pending_orders")
    },
    **{
        (function, "secretsmanager:GetSecretValue"): (
            "the payment function reads Stripe's key; these invoke it (in process on the local stack only)"
        )
        for function in ("process_order", "sweep_pending_orders")
    },
}
POWERTOOLS_DYNAMO = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


def iam_action(service: str, method: str, module: ast.Module) -> set[str]:
    if service == "cognito-idp" and method in PUBLIC_COGNITO:
        return set()
    if (service, method) in SPECIAL:
        return SPECIAL[(service, method)]
    if service == "s3" and method == "generate_presigned_url":
        return {"s3:GetObject"}
    if service == "dynamodb" and method == "transact_write_items":
        keys = {
            k.value for n in ast.walk(module) if isinstance(n, ast.Dict) for k in n.keys if isinstance(k, ast.Constant)
        }
        return {f"dynamodb:{TRANSACTION_KEYS[k]}" for k in keys if k in TRANSACTION_KEYS} or {"dynamodb:UpdateItem"}
    return {f"{service}:{''.join(part.capitalize() for part in method.split('_'))}"}


def client_service(node: ast.AST) -> str | None:
    """``<x>.get("dynamodb")`` (AwsClients) or ``<x>.client("s3", ...)`` (boto3) -> the service."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"get", "client"}
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value in SERVICES
    ):
        return str(node.args[0].value)
    return None


def bound_service(node: ast.AST | None, bound: dict[str, str]) -> str | None:
    """A client expression, or a name/attribute already known to hold one."""
    if node is None:
        return None
    if isinstance(node, ast.Attribute):
        return client_service(node) or bound.get(node.attr)
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    return client_service(node)


@dataclass
class ModuleCalls:
    tree: ast.Module
    in_classes: set[str] = field(default_factory=set)
    in_functions: dict[str, set[str]] = field(default_factory=dict)
    called_names: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)


def scan_module(path: Path) -> ModuleCalls:
    tree = ast.parse(path.read_text())
    result = ModuleCalls(tree)
    bound: dict[str, str] = {}  # property / attribute / local name -> service
    for _ in range(2):  # a property may return an attribute assigned a client elsewhere
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Return) and (service := bound_service(sub.value, bound)):
                        bound[node.name] = service
            if isinstance(node, ast.Assign) and (service := bound_service(node.value, bound)):
                for target in node.targets:
                    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
                    if name:
                        bound[name] = service
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib"):
            result.imports.add(node.module)
        if isinstance(node, ast.Call):
            func = node.func
            result.called_names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))

    def calls_in(scope: ast.AST) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Name) and node.id == "DynamoDBPersistenceLayer":
                found |= POWERTOOLS_DYNAMO
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            service = bound_service(node.func.value, bound)
            if service:
                found |= iam_action(service, node.func.attr, tree)
        return found

    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            result.in_classes |= calls_in(node)
        elif isinstance(node, ast.FunctionDef):
            result.in_functions[node.name] = calls_in(node)
    return result


def module_path(root: Path, module: str) -> Path:
    base = root / module.replace(".", "/")
    return base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"


def entry_points(app_source: str) -> dict[str, set[str]]:
    """Lambda function name -> container attributes its entry points use."""
    tree = ast.parse(app_source)
    helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}

    def attrs(fn: ast.FunctionDef, seen: set[str]) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "container"
            ):
                found.add(node.attr)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
                if node.func.id not in seen:
                    seen.add(node.func.id)
                    found |= attrs(helpers[node.func.id], seen)
        return found

    out: dict[str, set[str]] = {}
    for fn in helpers.values():
        for deco in fn.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            name = call.func.attr if call and isinstance(call.func, ast.Attribute) else None
            if name in API_DECORATORS:
                out.setdefault("api_handler", set()).update(attrs(fn, {fn.name}))
            elif name in WEBSOCKET_DECORATORS:
                out.setdefault(WEBSOCKET_DECORATORS[name], set()).update(attrs(fn, {fn.name}))
            elif name in EVENT_DECORATORS:
                lambda_name = next((k.value.value for k in call.keywords if k.arg == "name"), fn.name)  # type: ignore[union-attr, attr-defined]
                out.setdefault(lambda_name, set()).update(attrs(fn, {fn.name}))
    return out


def required_actions(root: Path) -> dict[str, dict[str, set[str]]]:
    """Lambda function -> module -> IAM actions its code can call."""
    bootstrap = ast.parse((root / "chalicelib" / "bootstrap.py").read_text())
    imported = {
        alias.asname or alias.name: node.module
        for node in ast.walk(bootstrap)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib")
        for alias in node.names
    }
    container = next(n for n in bootstrap.body if isinstance(n, ast.ClassDef) and n.name == "Container")
    members = {n.name: n for n in container.body if isinstance(n, ast.FunctionDef)}
    cache: dict[str, ModuleCalls] = {}

    def scanned(module: str) -> ModuleCalls:
        if module not in cache:
            cache[module] = scan_module(module_path(root, module))
        return cache[module]

    out: dict[str, dict[str, set[str]]] = {}
    for function, attributes in entry_points((root / "app.py").read_text()).items():
        todo, seen_members, modules = list(attributes), set(), set()
        while todo:
            member = todo.pop()
            if member in seen_members or member not in members:
                continue
            seen_members.add(member)
            for node in ast.walk(members[member]):
                if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "self":
                    todo.append(node.attr)
                if isinstance(node, ast.Name) and node.id in imported:
                    modules.add(imported[node.id])
        frontier = set(modules)
        while frontier:
            module = frontier.pop()
            for dep in scanned(module).imports - modules:
                modules.add(dep)
                frontier.add(dep)
        called = set().union(*(scanned(m).called_names for m in modules)) if modules else set()
        per_module: dict[str, set[str]] = {}
        for module in modules:
            calls = scanned(module)
            actions = set(calls.in_classes)
            for name, found in calls.in_functions.items():
                if name in called:
                    actions |= found
            if actions:
                per_module[module] = actions
        out[function] = per_module
    return out


def allowed(policy: dict[str, Any], action: str) -> bool:
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
            return True
    return False


def policy_of(function: str, root: Path = ROOT) -> dict[str, Any]:
    return json.loads((root / ".chalice" / f"policy-{function}.json").read_text())


# --- the policies as written -------------------------------------------------------------


def test_every_function_of_the_app_is_sized_and_has_a_policy_once() -> None:
    """One entry per function in .chalice/config.json's top-level lambda_functions, for every
    stage; no stage sizes a function again, and no entry names a function the app lacks."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert sorted(sizes()) == sorted(FUNCTIONS)
    assert all("lambda_functions" not in stage for stage in config["stages"].values())
    assert sorted(p.name for p in (ROOT / ".chalice").glob("policy-*.json")) == sorted(
        f"policy-{function}.json" for function in FUNCTIONS
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policy_allows_every_call_of_the_function(function: str) -> None:
    needed = required_actions(ROOT).get(function, {})
    policy = policy_of(function)
    missing = sorted(
        f"{module}: {action}"
        for module, actions in needed.items()
        if (function, module) not in REACHED_NOT_CALLED
        for action in actions
        if (function, action) not in REACHED_NOT_CALLED and not allowed(policy, action)
    )
    assert missing == [], f"{function} calls what .chalice/policy-{function}.json does not allow"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policy_is_narrow(function: str) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage in ("dev", "prod"):
        assert config["stages"][stage]["autogen_policy"] is False
    assert sizes()[function]["iam_policy_file"] == f"policy-{function}.json"
    for statement in policy_of(function)["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert statement["Effect"] == "Allow"
        assert not [a for a in actions if a == "*" or a.endswith(":*")], statement
        if "*" in resources:
            assert all(a.startswith("xray:") for a in actions), "only X-Ray has no resource-level permissions"
            continue
        for resource in resources:
            # By stage-scoped name, or a stack resource (${OrdersQueue.Arn}, ${UserPool.Arn}, the
            # WebSocket API's connections: execute-api names an API by its id, not a name).
            named = "chowline-${Stage}-" in resource or resource.startswith("${")
            assert named or ":${WebsocketAPI}/*/POST/@connections/" in resource, resource


def test_exactly_the_functions_that_post_may_manage_connections() -> None:
    posting = {
        function
        for function, modules in required_actions(ROOT).items()
        if "chalicelib.adapters.sockets" in modules
        and (function, "chalicelib.adapters.sockets") not in REACHED_NOT_CALLED
    }
    granted = {f for f in FUNCTIONS if allowed(policy_of(f), "execute-api:ManageConnections")}
    assert posting == granted == {"notify", "websocket_message"}


def test_every_function_the_app_declares_has_a_checked_policy() -> None:
    from devtools.package import declared

    assert set(declared(ROOT)["functions"]) == set(FUNCTIONS)


def test_api_handler_needs_what_the_accounts_code_calls() -> None:
    needed = required_actions(ROOT)["api_handler"]
    flat = set().union(*needed.values())
    assert {"cognito-idp:AdminAddUserToGroup", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= flat
    assert "cognito-idp:SignUp" not in flat  # a public-client call: no IAM permission involved


# --- the scanner itself, on a small code base that breaks its policy ----------------------


def test_scanner_finds_a_call_the_policy_does_not_allow(tmp_path: Path) -> None:
    (tmp_path / "chalicelib" / "adapters").mkdir(parents=True)
    (tmp_path / "chalicelib" / "__init__.py").write_text("")
    (tmp_path / "chalicelib" / "adapters" / "__init__.py").write_text("")
    (tmp_path / "chalicelib" / "adapters" / "orders.py").write_text(
        "from chalicelib.adapters.helpers import query_all\n"
        "class Orders:\n"
        "    @property\n"
        "    def _db(self):\n"
        "        return self._clients.get('dynamodb')\n"
        "    def save(self, item):\n"
        "        self._db.put_item(TableName='t', Item=item)\n"
        "    def pay(self, tx):\n"
        "        self._clients.get('dynamodb').transact_write_items(TransactItems=[{'Update': {}}, {'ConditionCheck': {}}])\n"
        "    def events(self):\n"
        "        sns = self._clients.get('sns')\n"
        "        sns.publish(TopicArn='x', Message='m')\n"
        "        return query_all(self._clients)\n"
    )
    (tmp_path / "chalicelib" / "adapters" / "helpers.py").write_text(
        "def query_all(clients):\n    return clients.get('dynamodb').query(TableName='t')\n"
        "def unused(clients):\n    return clients.get('dynamodb').scan(TableName='t')\n"
    )
    (tmp_path / "chalicelib" / "bootstrap.py").write_text(
        "from chalicelib.adapters.orders import Orders\n"
        "class Container:\n"
        "    def orders(self):\n        return Orders(self.clients)\n"
        "    def clients(self):\n        return None\n"
    )
    (tmp_path / "app.py").write_text(
        "@app.on_sqs_message(queue='q')\ndef process_order(event):\n    return container().orders.save(event)\n"
    )
    per_module = required_actions(tmp_path)["process_order"]
    assert per_module["chalicelib.adapters.helpers"] == {"dynamodb:Query"}  # scan() is never called
    needed = set().union(*per_module.values())
    assert needed == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "sns:Publish",
        "dynamodb:Query",
    }
    policy = {
        "Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"], "Resource": "x"}]
    }
    assert [a for a in sorted(needed) if not allowed(policy, a)] == [
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
        "sns:Publish",
    ]

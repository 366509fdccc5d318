"""Nothing on paper: every table the template declares reaches code that uses it, every
table a policy grants exists, and every setting is read by the app."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.settings import Settings
from devtools.provision import environment

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = json.loads((ROOT / "infra" / "template.json").read_text())
SETTINGS_SOURCE = (ROOT / "chalicelib" / "settings.py").read_text()


def app_sources() -> str:
    files = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    return "\n".join(f.read_text() for f in files if f.name != "settings.py")


def settings_field_of(variable: str) -> str | None:
    """The Settings field that ``from_env`` fills from environment variable ``variable``."""
    match = re.search(rf'(\w+)=(?:\w+\()?env\.get\("{variable}"', SETTINGS_SOURCE)
    return match.group(1) if match else None


def test_every_table_is_read_by_the_app() -> None:
    tables = [k for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"]
    outputs = {key: key for key in TEMPLATE["Outputs"]}
    variables = {output: name for name, output in environment(outputs, "").items() if name != "CHOWLINE_STAGE"}
    code = app_sources()
    for table in tables:
        output = next((k for k, v in TEMPLATE["Outputs"].items() if v["Value"] == {"Ref": table}), None)
        assert output in variables, f"{table}: no output handed to the functions"
        field = settings_field_of(variables[output])
        assert field, f"{table}: {variables[output]} is not a setting"
        assert re.search(rf"\.{field}\b", code), f"{table}: settings.{field} is read by nothing"


def test_policies_grant_only_declared_tables() -> None:
    declared = {
        v["Properties"]["TableName"]["Fn::Sub"].replace("chowline-${Stage}-", "")
        for v in TEMPLATE["Resources"].values()
        if v["Type"] == "AWS::DynamoDB::Table"
    }
    for policy in sorted((ROOT / ".chalice").glob("policy-*.json")):
        granted = set(re.findall(r"table/chowline-\$\{Stage\}-([a-z_-]+)", policy.read_text()))
        assert granted <= declared, f"{policy.name} grants {sorted(granted - declared)}"


def test_every_setting_is_read() -> None:
    code = app_sources()
    for field in Settings.__dataclass_fields__:
        # read by the app, or by a property of Settings that the app reads
        used = re.search(rf"\.{field}\b", code) or re.search(rf"self\.{field}\b", SETTINGS_SOURCE)
        assert used, f"Settings.{field} is read by nothing"

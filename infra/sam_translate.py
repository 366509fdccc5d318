"""Turns a packaged SAM template into plain CloudFormation with aws-sam-translator, offline.

Usage: python infra/sam_translate.py dist/sam.json dist/cloudformation.json
(run with the gates virtualenv, where aws-sam-translator is installed). The template gives
every function its own Role, so no managed-policy name has to be looked up in IAM.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


class NoManagedPolicies:
    """SAM asks IAM for managed-policy ARNs only for a function's ``Policies`` list."""

    def load(self) -> dict[str, str]:
        return {}


def translate(template: dict[str, Any], code_uri: str = "s3://chowline-artifacts/deployment.zip") -> dict[str, Any]:
    """``code_uri`` stands where ``aws cloudformation package`` would put the uploaded zip."""
    from samtranslator.translator.transform import transform

    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    return transform(template, {}, NoManagedPolicies())


def main(argv: list[str]) -> None:
    source, target = Path(argv[0]), Path(argv[1])
    output = translate(json.loads(source.read_text()))
    target.write_text(json.dumps(output, indent=2) + "\n")
    kinds = sorted({r["Type"] for r in output["Resources"].values()})
    sys.stdout.write(f"{len(output['Resources'])} resources, {len(kinds)} types, no AWS::Serverless left\n")
    assert not [k for k in kinds if k.startswith("AWS::Serverless::")]


if __name__ == "__main__":
    main(sys.argv[1:])

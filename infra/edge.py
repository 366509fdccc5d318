"""Writes ``infra/edge.json``: the edge of the production stack and the overrides of the
resources ``chalice package`` generates, merged with ``infra/template.json`` by
``devtools/package.py``.

Run ``.venv/bin/python infra/edge.py`` after editing; a test fails while edge.json is stale. The JSON
is what reviewers and CloudFormation read; this file only keeps the repetitive parts
(alarms, gateway responses, cache settings) in one loop each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from chalicelib.domain.errors import CLIENT_ERROR, SERVER_ERROR, problem_kind  # noqa: E402
from chalicelib.entry.problems import problem_document  # noqa: E402
from devtools.functions import app_functions, logical_id  # noqa: E402
from devtools.package import deep_merge  # noqa: E402

Json = dict[str, Any]
OUT = HERE / "edge.json"

NO_VALUE = {"Ref": "AWS::NoValue"}
RATE_LIMIT = 1000  # requests per client IP per evaluation window
RATE_WINDOW = 60  # seconds
# /auth/* (sign-up, login, MFA, password reset): far fewer per IP than the rest, against
# password guessing, code guessing and sign-up floods; a family or an office behind one
# address still gets about 20 attempts a minute.
AUTH_RATE_LIMIT = 100  # requests per client IP per AUTH_RATE_WINDOW
AUTH_RATE_WINDOW = 300  # seconds
TRACE_SAMPLING_RATE = 0.01
CATALOG_CACHE_SECONDS = 30  # matches CATALOG_CACHE_SECONDS, the Cache-Control max-age of the same GETs

# CloudFront managed policies (stable, documented ids).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
# What the assets distribution adds to every image: opened on its own, an image may show
# itself and nothing else (no script, no style, no frame, sandboxed).
ASSETS_CSP = "default-src 'none'; img-src 'self'; frame-ancestors 'none'; sandbox"

# The functions the app declares -> the CloudFormation logical id chalice generates for each.
FUNCTIONS = {function: logical_id(function) for function in app_functions()}
# The WebSocket stage: messages per second across all connections (API Gateway's account
# default is 10,000 rps shared with REST); the lunch peak needs a few hundred.
WEBSOCKET_RATE_LIMIT = 500
WEBSOCKET_BURST_LIMIT = 1000

# The public catalog GETs: the only cached methods. Query strings and path parameters are
# cache keys; If-None-Match too, so a cached 304 never answers a request without it.
CACHED_GETS: dict[str, list[str]] = {
    "/restaurants": ["city", "cuisine", "limit", "cursor", "lat", "lng"],
    "/restaurants/{restaurant_id}": [],
    "/restaurants/{restaurant_id}/products": ["limit", "cursor"],
    "/products/{product_id}": [],
}

# No CORS headers: the web app calls the API on its own origin (/api/ on the distribution),
# the app's responses carry none, and a gateway error must not be readable where they are not.
GATEWAY_RESPONSE_HEADERS = {
    "gatewayresponse.header.Content-Type": "'application/problem+json'",
    "gatewayresponse.header.X-Request-Id": "context.requestId",
}

# Gateway response type -> status; the body is an RFC 9457 problem document with the app's
# type and title for that status (chalicelib/domain/errors.py PROBLEMS). DEFAULT_4XX/5XX keep
# the status API Gateway chose (0 here): a generic client or server error.
GATEWAY_RESPONSES: dict[str, int] = {
    "UNAUTHORIZED": 401,
    "MISSING_AUTHENTICATION_TOKEN": 404,
    "ACCESS_DENIED": 403,
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "API_KEY": 403,
    "WAF_FILTERED": 403,
    "REQUEST_TOO_LARGE": 413,
    "INTEGRATION_TIMEOUT": 504,
    "DEFAULT_4XX": 0,
    "DEFAULT_5XX": 0,
}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def ref(name: str) -> Json:
    return {"Ref": name}


def getatt(name: str, attr: str) -> Json:
    return {"Fn::GetAtt": [name, attr]}


def when(condition: str, then: Any, otherwise: Any = NO_VALUE) -> Json:
    return {"Fn::If": [condition, then, otherwise]}


def skip(*checks: tuple[str, str]) -> Json:
    return {"checkov": {"skip": [{"id": check, "comment": why} for check, why in checks]}}


def parameters() -> Json:
    text = {"Type": "String", "Default": ""}
    secret = {"Type": "String", "Default": "", "NoEcho": True}
    return {
        "DomainName": {**text, "Description": "Optional custom domain for the distribution (e.g. api.example.com)."},
        "CertificateArn": {
            **text,
            "Description": "ACM certificate (in us-east-1) covering DomainName; required when DomainName is set.",
        },
        "PriceClass": {
            "Type": "String",
            "Default": "PriceClass_100",
            "AllowedValues": ["PriceClass_100", "PriceClass_200", "PriceClass_All"],
        },
        "OperatorsEmail": {**text, "Description": "Optional e-mail subscribed to the operators alarm topic."},
        "ConfigureApiGatewayAccount": {
            "Type": "String",
            "Default": "true",
            "AllowedValues": ["true", "false"],
            "Description": "Sets the account-wide API Gateway CloudWatch role (needed once per account and region for access logs).",
        },
        "AuthDomainPrefix": {
            **text,
            "Description": "Hosted-UI domain prefix; default chowline-<stage>-<account id>.",
        },
        "OAuthCallbackUrls": {
            "Type": "CommaDelimitedList",
            "Default": "https://localhost:3000/auth/callback",
            "Description": "Redirect URIs of the OAuth 2.0 code-flow client.",
        },
        "OAuthLogoutUrls": {"Type": "CommaDelimitedList", "Default": "https://localhost:3000/"},
        "GoogleClientId": {**text, "Description": "Google OAuth client id; empty disables Google sign-in."},
        "GoogleClientSecret": secret,
        "AppleServicesId": {**text, "Description": "Sign in with Apple services id; empty disables Apple sign-in."},
        "AppleTeamId": text,
        "AppleKeyId": text,
        "ApplePrivateKey": secret,
        "SesIdentityArn": {
            **text,
            "Description": (
                "Verified SES identity (out of the SES sandbox) that sends Cognito's e-mails (codes, invitations); "
                "empty keeps Cognito's default sender, limited to 50 e-mails a day."
            ),
        },
        "EmailFrom": {**text, "Description": 'Sender of those e-mails, e.g. "Chowline <no-reply@example.com>".'},
        "EnableDax": {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["true", "false"],
            "Description": "DAX cluster for menu reads (needs DaxSubnetIds and DaxSecurityGroupIds; puts api_handler in the VPC).",
        },
        "DaxNodeType": {"Type": "String", "Default": "dax.t3.small"},
        "DaxNodes": {"Type": "Number", "Default": 3, "MinValue": 1, "MaxValue": 10},
        "DaxSubnetIds": {"Type": "CommaDelimitedList", "Default": ""},
        "DaxSecurityGroupIds": {"Type": "CommaDelimitedList", "Default": ""},
    }


def conditions() -> Json:
    def not_empty(param: str) -> Json:
        return {"Fn::Not": [{"Fn::Equals": [ref(param), ""]}]}

    return {
        "HasCustomDomain": {"Fn::And": [not_empty("DomainName"), not_empty("CertificateArn")]},
        "HasOperatorsEmail": not_empty("OperatorsEmail"),
        "SetApiGatewayAccount": {"Fn::Equals": [ref("ConfigureApiGatewayAccount"), "true"]},
        "HasAuthDomainPrefix": not_empty("AuthDomainPrefix"),
        "HasGoogle": not_empty("GoogleClientId"),
        "HasApple": not_empty("AppleServicesId"),
        "HasSes": not_empty("SesIdentityArn"),
        "DaxOn": {"Fn::Equals": [ref("EnableDax"), "true"]},
    }


def waf() -> Json:
    def managed(
        name: str, priority: int, overrides: list[str], config: list[Json] | None = None, scope: Json | None = None
    ) -> Json:
        statement: Json = {
            "VendorName": "AWS",
            "Name": name,
            "RuleActionOverrides": [{"Name": rule, "ActionToUse": {"Count": {}}} for rule in overrides],
        }
        if config:
            statement["ManagedRuleGroupConfigs"] = config
        if scope:
            statement["ScopeDownStatement"] = scope
        return {
            "Name": name,
            "Priority": priority,
            "OverrideAction": {"None": {}},
            "Statement": {"ManagedRuleGroupStatement": statement},
            "VisibilityConfig": visibility(name),
        }

    def path_starts(prefix: str) -> Json:
        return {
            "ByteMatchStatement": {
                "FieldToMatch": {"UriPath": {}},
                "PositionalConstraint": "STARTS_WITH",
                "SearchString": prefix,
                "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
            }
        }

    def bot_scope() -> Json:
        post = {
            "ByteMatchStatement": {
                "FieldToMatch": {"Method": {}},
                "PositionalConstraint": "EXACTLY",
                "SearchString": "POST",
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            }
        }
        orders = {"AndStatement": {"Statements": [post, path_starts("/orders")]}}
        return {"OrStatement": {"Statements": [path_starts("/auth/"), orders]}}

    def visibility(name: str) -> Json:
        return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}

    def auth_rate_rules() -> list[Json]:
        """The tighter limit on /auth/*, keyed like the general one (viewer IP, then source IP)."""
        keys: list[tuple[str, Json]] = [
            (
                "AuthRatePerClientIp",
                {
                    "AggregateKeyType": "FORWARDED_IP",
                    "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"},
                },
            ),
            ("AuthRatePerSourceIp", {"AggregateKeyType": "IP"}),
        ]
        return [
            {
                "Name": name,
                "Priority": 5 + index,
                "Action": {"Block": {}},
                "Statement": {
                    "RateBasedStatement": {
                        "Limit": AUTH_RATE_LIMIT,
                        "EvaluationWindowSec": AUTH_RATE_WINDOW,
                        **key,
                        "ScopeDownStatement": path_starts("/auth/"),
                    }
                },
                "VisibilityConfig": visibility(name),
            }
            for index, (name, key) in enumerate(keys)
        ]

    rules = [
        {
            "Name": "RatePerClientIp",
            "Priority": 0,
            "Action": {"Block": {}},
            "Statement": {
                "RateBasedStatement": {
                    "Limit": RATE_LIMIT,
                    "EvaluationWindowSec": RATE_WINDOW,
                    # Behind CloudFront the source address is the edge's: count the viewer's
                    # address CloudFront puts in X-Forwarded-For; calls that reach the stage
                    # directly (no header) are counted as one aggregate and limited with it.
                    "AggregateKeyType": "FORWARDED_IP",
                    "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"},
                }
            },
            "VisibilityConfig": visibility("RatePerClientIp"),
        },
        {
            "Name": "RatePerSourceIp",
            "Priority": 1,
            "Action": {"Block": {}},
            "Statement": {
                "RateBasedStatement": {
                    "Limit": RATE_LIMIT,
                    "EvaluationWindowSec": RATE_WINDOW,
                    "AggregateKeyType": "IP",
                }
            },
            "VisibilityConfig": visibility("RatePerSourceIp"),
        },
        *auth_rate_rules(),
        # The app answers bodies over 64 KiB with a 413 problem; the rule group's 8 KiB limit
        # would turn them into a bare 403 first.
        managed("AWSManagedRulesCommonRuleSet", 2, ["SizeRestrictions_BODY"]),
        managed("AWSManagedRulesKnownBadInputsRuleSet", 3, []),
        # Mobile apps and restaurant POS integrations are non-browser HTTP clients: count,
        # do not block, those two signals; every other bot category is blocked.
        managed(
            "AWSManagedRulesBotControlRuleSet",
            4,
            ["CategoryHttpLibrary", "SignalNonBrowserUserAgent"],
            [{"AWSManagedRulesBotControlRuleSet": {"InspectionLevel": "COMMON"}}],
            # Bots matter where they cost money or accounts (sign-up, login, orders); catalog
            # reads are cached and cheap. Scoping Bot Control to them keeps it ~$11/month.
            bot_scope(),
        ),
    ]
    return {
        "WebAcl": {
            "Type": "AWS::WAFv2::WebACL",
            "Metadata": {
                "Association": (
                    "REGIONAL web ACL associated with the REST API stage (RestAPIapiStage), not with "
                    "CloudFront: it guards every way in (the distribution and the execute-api URL), "
                    "needs no us-east-1 stack, and the rate rule keys on the viewer IP CloudFront forwards."
                )
            },
            "Properties": {
                "Name": sub("chowline-${Stage}-api"),
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "Rules": rules,
                "CustomResponseBodies": {
                    "problem": {
                        "ContentType": "APPLICATION_JSON",
                        "Content": json.dumps(problem_document(403, "Request blocked by the firewall")),
                    }
                },
                "VisibilityConfig": visibility("chowline-api"),
            },
        },
        "WebAclAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Properties": {
                "ResourceArn": sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/${RestAPIapiStage}"
                ),
                "WebACLArn": getatt("WebAcl", "Arn"),
            },
        },
        "WebAclLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Metadata": skip(("CKV_AWS_158", "AWS-owned encryption at rest is enough for request metadata.")),
            "Properties": {"LogGroupName": sub("aws-waf-logs-chowline-${Stage}"), "RetentionInDays": 30},
        },
        "WebAclLogging": {
            "Type": "AWS::WAFv2::LoggingConfiguration",
            "Properties": {
                "ResourceArn": getatt("WebAcl", "Arn"),
                "LogDestinationConfigs": [getatt("WebAclLogs", "Arn")],
                "RedactedFields": [{"SingleHeader": {"Name": "authorization"}}],
            },
        },
    }


def api_overrides() -> Json:
    """Merged into chalice's RestAPI (an AWS::Serverless::Api)."""
    method_settings: list[Json] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": 500,
            "ThrottlingBurstLimit": 1000,
            "MetricsEnabled": True,
            "LoggingLevel": "ERROR",
            "DataTraceEnabled": False,
            "CachingEnabled": False,
        }
    ]
    paths: Json = {}
    for path, query in CACHED_GETS.items():
        method_settings.append(
            {
                "ResourcePath": path.replace("/", "~1").replace("~1", "/", 1),
                "HttpMethod": "GET",
                "CachingEnabled": True,
                "CacheTtlInSeconds": CATALOG_CACHE_SECONDS,
                "CacheDataEncrypted": True,
                "ThrottlingRateLimit": 500,
                "ThrottlingBurstLimit": 1000,
                "MetricsEnabled": True,
                "LoggingLevel": "ERROR",
            }
        )
        path_params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        params = [{"name": p, "in": "path", "required": True, "type": "string"} for p in path_params]
        params += [{"name": q, "in": "query", "required": False, "type": "string"} for q in query]
        params.append({"name": "If-None-Match", "in": "header", "required": False, "type": "string"})
        keys = [f"method.request.path.{p}" for p in path_params]
        keys += [f"method.request.querystring.{q}" for q in query]
        keys.append("method.request.header.If-None-Match")
        paths[path] = {
            "get": {
                "parameters": params,
                "x-amazon-apigateway-integration": {
                    "cacheKeyParameters": keys,
                    "requestParameters": {key.replace("method.", "integration.", 1): key for key in keys},
                },
            }
        }
    responses: Json = {}
    for kind, status in GATEWAY_RESPONSES.items():
        # DEFAULT_4XX/5XX keep the status API Gateway chose; the body then omits it (it is advisory).
        problem = problem_kind(status) if status else CLIENT_ERROR if kind == "DEFAULT_4XX" else SERVER_ERROR
        status_part = f'"status": {status}, ' if status else ""
        body = (
            f'{{"type": "{problem.type}", "title": "{problem.title}", {status_part}'
            '"detail": $context.error.messageString, "request_id": "$context.requestId"}'
        )
        entry: Json = {
            "ResponseParameters": {"Headers": {k.rsplit(".", 1)[1]: v for k, v in GATEWAY_RESPONSE_HEADERS.items()}},
            "ResponseTemplates": {"application/json": body},
        }
        if status:
            entry["StatusCode"] = str(status)
        responses[kind] = entry
    access_format = {
        "request_id": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "user": "$context.authorizer.claims.sub",
        "api_key_id": "$context.identity.apiKeyId",
        "time": "$context.requestTimeEpoch",
        "method": "$context.httpMethod",
        "resource": "$context.resourcePath",
        "status": "$context.status",
        "length": "$context.responseLength",
        "latency_ms": "$context.responseLatency",
        "integration_ms": "$context.integrationLatency",
        "integration_error": "$context.integrationErrorMessage",
        "waf_status": "$context.wafResponseCode",
        "cache": "$context.integration.status",
    }
    return {
        "Properties": {
            "Name": sub("chowline-${Stage}"),
            "TracingEnabled": True,
            "CacheClusterEnabled": True,
            "CacheClusterSize": "0.5",
            "MethodSettings": method_settings,
            "AccessLogSetting": {"DestinationArn": getatt("ApiAccessLogs", "Arn"), "Format": json.dumps(access_format)},
            "GatewayResponses": responses,
            "DefinitionBody": {
                "paths": paths,
                "securityDefinitions": {
                    "chowline-users": {"x-amazon-apigateway-authorizer": {"providerARNs": [getatt("UserPool", "Arn")]}}
                },
            },
        }
    }


def api_resources() -> Json:
    return {
        "ApiAccessLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Metadata": skip(("CKV_AWS_158", "AWS-owned encryption at rest is enough for access logs without bodies.")),
            "Properties": {"LogGroupName": sub("/aws/apigateway/chowline-${Stage}-access"), "RetentionInDays": 90},
        },
        "ApiGatewayCloudWatchRole": {
            "Type": "AWS::IAM::Role",
            "Condition": "SetApiGatewayAccount",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Condition": "SetApiGatewayAccount",
            "Properties": {"CloudWatchRoleArn": getatt("ApiGatewayCloudWatchRole", "Arn")},
        },
        **usage_plans(),
    }


# Client application -> (description, requests/second, burst, requests/month). Every
# operation but chalicelib/entry/routing.py's KEYLESS_PATHS takes an API key, so each
# application is metered and throttled by its own plan (the stage's limits still cap all).
CLIENT_APPS: dict[str, tuple[str, int, int, int]] = {
    "Web": ("The web app on the site's distribution (its key is public, in /client-config)", 200, 400, 20_000_000),
    "Mobile": ("The iOS and Android apps", 300, 600, 30_000_000),
    "Partner": ("Restaurant point-of-sale integrations", 20, 40, 500_000),
}
# Not a secret (the browser holds it): the web key is the stack's own id, so that the API
# function can hand it out (WEB_API_KEY) without a secret store.
WEB_API_KEY_VALUE = {"Fn::Select": [2, {"Fn::Split": ["/", ref("AWS::StackId")]}]}


def usage_plans() -> Json:
    resources: Json = {}
    for app, (description, rate, burst, quota) in CLIENT_APPS.items():
        resources[f"{app}UsagePlan"] = {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Metadata": {
                "ApiKeyRequired": "routes take api_key_required=True (all but KEYLESS_PATHS, in the route table)"
            },
            "Properties": {
                "UsagePlanName": sub(f"chowline-${{Stage}}-{app.lower()}"),
                "Description": description,
                "ApiStages": [{"ApiId": ref("RestAPI"), "Stage": ref("RestAPIapiStage")}],
                "Throttle": {"RateLimit": rate, "BurstLimit": burst},
                "Quota": {"Limit": quota, "Period": "MONTH"},
            },
        }
        key: Json = {"Name": sub(f"chowline-${{Stage}}-{app.lower()}"), "Enabled": True}
        if app == "Web":
            key["Value"] = WEB_API_KEY_VALUE
        resources[f"{app}ApiKey"] = {
            "Type": "AWS::ApiGateway::ApiKey",
            "DependsOn": "RestAPIapiStage",
            "Properties": key,
        }
        resources[f"{app}UsagePlanKey"] = {
            "Type": "AWS::ApiGateway::UsagePlanKey",
            "Properties": {"KeyId": ref(f"{app}ApiKey"), "KeyType": "API_KEY", "UsagePlanId": ref(f"{app}UsagePlan")},
        }
    return resources


def bucket(name: str) -> Json:
    return {
        "BucketName": sub(name),
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "VersioningConfiguration": {"Status": "Enabled"},
    }


def cdn_policy(bucket_id: str, distribution: str, readable: str = "/*") -> Json:
    """CloudFront (that distribution only) may read ``readable`` of the bucket; TLS only."""
    bucket_arn = getatt(bucket_id, "Arn")
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": ref(bucket_id),
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CloudFrontReads",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudfront.amazonaws.com"},
                        "Action": "s3:GetObject",
                        "Resource": {"Fn::Join": ["", [bucket_arn, readable]]},
                        "Condition": {
                            "StringEquals": {
                                "AWS:SourceArn": sub(
                                    "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${"
                                    + distribution
                                    + "}"
                                )
                            }
                        },
                    },
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            },
        },
    }


CDN_SKIPS = (
    ("CKV_AWS_86", "Access logs: CloudFront standard logs cost per request; API access logs are kept at the stage."),
    (
        "CKV_AWS_174",
        "TLSv1.2_2021 is set with a custom domain; the default *.cloudfront.net certificate cannot pin it.",
    ),
    ("CKV_AWS_68", "The web ACL is regional, on the API stage, which every API request reaches."),
    ("CKV_AWS_310", "Origin failover needs a second region's API; single-region by design."),
    ("CKV_AWS_305", "DefaultRootObject is set; checkov misreads the nested DistributionConfig."),
)


def cdn() -> Json:
    https_only = {"ViewerProtocolPolicy": "https-only", "Compress": True, "ResponseHeadersPolicyId": SECURITY_HEADERS}
    viewer_certificate = when(
        "HasCustomDomain",
        {
            "AcmCertificateArn": ref("CertificateArn"),
            "SslSupportMethod": "sni-only",
            "MinimumProtocolVersion": "TLSv1.2_2021",
        },
        {"CloudFrontDefaultCertificate": True},
    )
    return {
        "WebBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": skip(
                ("CKV_AWS_18", "Reads are logged by CloudFront; bucket access logs would double the cost."),
                ("CKV_AWS_21", "Versioning is enabled."),
            ),
            "Properties": bucket("chowline-${Stage}-web-${AWS::AccountId}"),
        },
        "WebBucketPolicy": cdn_policy("WebBucket", "Distribution"),
        # Only checked copies under images/ are served; uploads in progress never are.
        "AssetsBucketPolicy": cdn_policy("AssetsBucket", "AssetsDistribution", "/images/*"),
        "AssetsHeadersPolicy": {
            "Type": "AWS::CloudFront::ResponseHeadersPolicy",
            "Properties": {
                "ResponseHeadersPolicyConfig": {
                    "Name": sub("chowline-${Stage}-assets"),
                    "Comment": "Images are images: never sniffed, never a document that runs anything",
                    "SecurityHeadersConfig": {
                        "ContentTypeOptions": {"Override": True},
                        "ContentSecurityPolicy": {"ContentSecurityPolicy": ASSETS_CSP, "Override": True},
                        "FrameOptions": {"FrameOption": "DENY", "Override": True},
                        "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
                        "StrictTransportSecurity": {
                            "AccessControlMaxAgeSec": 63072000,
                            "IncludeSubdomains": True,
                            "Override": True,
                        },
                    },
                }
            },
        },
        "OriginAccessControl": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {
                "OriginAccessControlConfig": {
                    "Name": sub("chowline-${Stage}-s3"),
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        },
        "Distribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Metadata": skip(*CDN_SKIPS),
            "Properties": {
                "DistributionConfig": {
                    "Comment": sub("chowline-${Stage}: web app and /api/*"),
                    "Enabled": True,
                    "HttpVersion": "http2and3",
                    "IPV6Enabled": True,
                    "PriceClass": ref("PriceClass"),
                    "DefaultRootObject": "index.html",
                    "Aliases": when("HasCustomDomain", [ref("DomainName")]),
                    "ViewerCertificate": viewer_certificate,
                    "Origins": [
                        {
                            "Id": "web",
                            "DomainName": getatt("WebBucket", "RegionalDomainName"),
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                            "OriginAccessControlId": getatt("OriginAccessControl", "Id"),
                        },
                        {
                            "Id": "api",
                            "DomainName": sub("${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
                            "CustomOriginConfig": {
                                "OriginProtocolPolicy": "https-only",
                                "OriginSSLProtocols": ["TLSv1.2"],
                                "OriginReadTimeout": 30,
                            },
                        },
                    ],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "web",
                        "CachePolicyId": CACHING_OPTIMIZED,
                        **https_only,
                        # The site itself: a browser typing http:// is sent to https://.
                        "ViewerProtocolPolicy": "redirect-to-https",
                    },
                    "CacheBehaviors": [
                        {
                            # The stage is named "api": /api/restaurants reaches /restaurants on it.
                            "PathPattern": "/api/*",
                            "TargetOriginId": "api",
                            "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                            "CachedMethods": ["GET", "HEAD"],
                            # The stage cache serves the public GETs; CloudFront forwards everything.
                            "CachePolicyId": CACHING_DISABLED,
                            "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
                            **https_only,
                        }
                    ],
                }
            },
        },
        "AssetsDistribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Metadata": {
                **skip(*CDN_SKIPS),
                "Why": (
                    "Images get their own distribution: the API's ASSETS_BASE_URL refers to it, and a "
                    "reference to the API's distribution would be a cycle (distribution -> API -> function)."
                ),
            },
            "Properties": {
                "DistributionConfig": {
                    "Comment": sub("chowline-${Stage}: uploaded images"),
                    "Enabled": True,
                    "HttpVersion": "http2and3",
                    "IPV6Enabled": True,
                    "PriceClass": ref("PriceClass"),
                    "DefaultRootObject": "index.html",
                    "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
                    "Origins": [
                        {
                            "Id": "assets",
                            "DomainName": getatt("AssetsBucket", "RegionalDomainName"),
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                            "OriginAccessControlId": getatt("OriginAccessControl", "Id"),
                        }
                    ],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "assets",
                        "CachePolicyId": CACHING_OPTIMIZED,
                        **https_only,
                        "ResponseHeadersPolicyId": ref("AssetsHeadersPolicy"),
                    },
                }
            },
        },
    }


def cognito() -> Json:
    return {
        # Every way of signing up (the API, the hosted UI, Google, Apple) ends in the
        # post-confirmation trigger: the user joins customers and gets a profile. Its e-mails
        # go through SES once an identity is given (merged into template.json's pool).
        "UserPool": {
            "Properties": {
                "LambdaConfig": {"PostConfirmation": getatt("PostConfirmation", "Arn")},
                "EmailConfiguration": when(
                    "HasSes",
                    {"EmailSendingAccount": "DEVELOPER", "SourceArn": ref("SesIdentityArn"), "From": ref("EmailFrom")},
                    {"EmailSendingAccount": "COGNITO_DEFAULT"},
                ),
            }
        },
        "PostConfirmationInvokePermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": ref("PostConfirmation"),
                "Principal": "cognito-idp.amazonaws.com",
                "SourceArn": getatt("UserPool", "Arn"),
                "SourceAccount": ref("AWS::AccountId"),
            },
        },
        "UserPoolDomain": {
            "Type": "AWS::Cognito::UserPoolDomain",
            "Properties": {
                "UserPoolId": ref("UserPool"),
                "Domain": when(
                    "HasAuthDomainPrefix", ref("AuthDomainPrefix"), sub("chowline-${Stage}-${AWS::AccountId}")
                ),
            },
        },
        "GoogleIdentityProvider": {
            "Type": "AWS::Cognito::UserPoolIdentityProvider",
            "Condition": "HasGoogle",
            "Properties": {
                "UserPoolId": ref("UserPool"),
                "ProviderName": "Google",
                "ProviderType": "Google",
                "ProviderDetails": {
                    "client_id": ref("GoogleClientId"),
                    "client_secret": ref("GoogleClientSecret"),
                    "authorize_scopes": "openid email profile",
                },
                "AttributeMapping": {"email": "email", "name": "name"},
            },
        },
        "AppleIdentityProvider": {
            "Type": "AWS::Cognito::UserPoolIdentityProvider",
            "Condition": "HasApple",
            "Properties": {
                "UserPoolId": ref("UserPool"),
                "ProviderName": "SignInWithApple",
                "ProviderType": "SignInWithApple",
                "ProviderDetails": {
                    "client_id": ref("AppleServicesId"),
                    "team_id": ref("AppleTeamId"),
                    "key_id": ref("AppleKeyId"),
                    "private_key": ref("ApplePrivateKey"),
                    "authorize_scopes": "email name",
                },
                "AttributeMapping": {"email": "email", "name": "name"},
            },
        },
        "WebClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "ClientName": sub("chowline-${Stage}-web"),
                "UserPoolId": ref("UserPool"),
                # A public client (browser, mobile): authorization code flow with PKCE, no secret.
                "GenerateSecret": False,
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthFlows": ["code"],
                "AllowedOAuthScopes": ["openid", "email", "profile"],
                "CallbackURLs": ref("OAuthCallbackUrls"),
                "LogoutURLs": ref("OAuthLogoutUrls"),
                "SupportedIdentityProviders": [
                    "COGNITO",
                    when("HasGoogle", ref("GoogleIdentityProvider")),
                    when("HasApple", ref("AppleIdentityProvider")),
                ],
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "AccessTokenValidity": 60,
                "IdTokenValidity": 60,
                "RefreshTokenValidity": 30,
                "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
            },
        },
    }


def dax() -> Json:
    menu_tables = [
        sub("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/chowline-${Stage}-" + name + suffix)
        for name in ("restaurants", "products")
        for suffix in ("", "/index/*")
    ]
    return {
        "DaxRole": {
            "Type": "AWS::IAM::Role",
            "Condition": "DaxOn",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "MenuReads",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": [
                                        "dynamodb:GetItem",
                                        "dynamodb:Query",
                                        "dynamodb:BatchGetItem",
                                        "dynamodb:DescribeTable",
                                    ],
                                    "Resource": menu_tables,
                                }
                            ],
                        },
                    }
                ],
            },
        },
        # Reads may lag a write by the TTL: the same 30 s as the in-Lambda and stage caches
        # (DAX's default is 5 minutes); writes go to DynamoDB, not through the cluster.
        "DaxParameterGroup": {
            "Type": "AWS::DAX::ParameterGroup",
            "Condition": "DaxOn",
            "Properties": {
                "Description": "Chowline menu cache TTLs",
                "ParameterNameValues": {"record-ttl-millis": "30000", "query-ttl-millis": "30000"},
            },
        },
        "DaxSubnetGroup": {
            "Type": "AWS::DAX::SubnetGroup",
            "Condition": "DaxOn",
            "Properties": {"Description": "Chowline menu cache", "SubnetIds": ref("DaxSubnetIds")},
        },
        "DaxCluster": {
            "Type": "AWS::DAX::Cluster",
            "Condition": "DaxOn",
            "Metadata": {
                "TradeOff": (
                    "DAX serves cached GetItem/Query in microseconds instead of single-digit ms, but three "
                    "dax.t3.small nodes cost about $90/month at rest and put api_handler in a VPC (NAT or "
                    "endpoints for Cognito, SQS, S3). The stage cache already absorbs the public menu reads, "
                    "so it stays off until DynamoDB read cost or latency is measured to matter."
                )
            },
            "Properties": {
                "Description": sub("chowline-${Stage} menu reads"),
                "IAMRoleARN": getatt("DaxRole", "Arn"),
                "NodeType": ref("DaxNodeType"),
                "ReplicationFactor": ref("DaxNodes"),
                "SubnetGroupName": ref("DaxSubnetGroup"),
                "ParameterGroupName": ref("DaxParameterGroup"),
                "SecurityGroupIds": ref("DaxSecurityGroupIds"),
                "SSESpecification": {"SSEEnabled": True},
                "ClusterEndpointEncryptionType": "TLS",
            },
        },
    }


def events() -> Json:
    return {
        "EventFailuresQueue": {
            "Type": "AWS::SQS::Queue",
            "Metadata": {
                **skip(("CKV_AWS_27", "SQS-managed server-side encryption is on (SqsManagedSseEnabled).")),
                "cfn-lint": {"config": {"ignore_checks": ["ES6000"]}},
                "Why": "The last stop of failed stream batches, scheduled runs and alarm e-mails: nothing to redrive it to.",
            },
            "Properties": {
                "QueueName": sub("chowline-${Stage}-event-failures"),
                "MessageRetentionPeriod": 1209600,
                "SqsManagedSseEnabled": True,
            },
        },
        "EventFailuresQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [ref("EventFailuresQueue")],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ScheduleDeadLetters",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": getatt("EventFailuresQueue", "Arn"),
                            "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                        },
                        {
                            "Sid": "UndeliveredAlarms",
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": getatt("EventFailuresQueue", "Arn"),
                            "Condition": {"ArnEquals": {"aws:SourceArn": ref("OperatorsTopic")}},
                        },
                    ],
                },
            },
        },
        "OrdersDeadLetterQueue": {
            "Metadata": {
                **skip(("CKV_AWS_27", "SQS-managed server-side encryption is on (SqsManagedSseEnabled).")),
                "cfn-lint": {"config": {"ignore_checks": ["ES6000"]}},
                "Why": "The dead-letter queue of orders.fifo; a redrive command moves its messages back.",
            }
        },
        "CursorKeySecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Metadata": skip(
                ("CKV2_AWS_57", "Rotating the cursor key would invalidate every cursor in flight; rotate by hand."),
                ("CKV_AWS_149", "The AWS managed key is enough for an HMAC key that signs paging cursors."),
            ),
            "Properties": {
                "Name": sub("chowline-${Stage}-cursor-key"),
                "Description": "HMAC key of the opaque paging cursors (CURSOR_KEY)",
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        },
    }


FUNCTION_SKIPS = {
    "CKV_AWS_116": (
        "No asynchronous invocation to dead-letter: the API, payment and the Cognito trigger are invoked synchronously, the queue "
        "and stream mappings have their own DLQ / on-failure destination, the sweep an on-failure destination."
    ),
    "CKV_AWS_117": "Reaches only public AWS endpoints; a VPC would add NAT cost and cold-start time (DAX puts the API in one).",
    "CKV_AWS_173": "Environment holds resource names, encrypted at rest with the AWS managed key.",
    "CKV_AWS_115": (
        "Bounded elsewhere: the API by stage throttling and WAF, process_order by the mapping's maximum "
        "concurrency, notify by the stream's shard count, the WebSocket handlers by the WebSocket "
        "stage's throttling, post_confirmation by the confirmations of sign-ups."
    ),
}
LOG_GROUP_SKIP = ("CKV_AWS_158", "AWS-owned encryption at rest; the logs hold no secrets or bodies.")


def stateful_overrides() -> Json:
    """Reasons for the checks template.json's resources fail on purpose."""
    cmk = ("CKV_AWS_119", "AWS owned key encryption; a customer managed key adds cost and key administration.")
    sse = ("CKV_AWS_27", "SQS-managed server-side encryption is on (SqsManagedSseEnabled).")
    out: Json = {
        table: {"Metadata": skip(cmk)}
        for table in (
            "UsersTable",
            "RestaurantsTable",
            "ProductsTable",
            "OrdersTable",
            "NotificationsTable",
            "ConnectionsTable",
            "DevicesTable",
            "PromoCodesTable",
            "CouriersTable",
        )
    }
    out["OrdersQueue"] = {"Metadata": skip(sse)}
    out["AssetsBucket"] = {
        "Metadata": skip(("CKV_AWS_18", "Reads go through CloudFront; uploads are presigned and owned by the API."))
    }
    return out


def function_overrides() -> Json:
    """Event-source and sizing settings chalice cannot express. Environment variables, names
    and roles are added by devtools/package.py from the stack outputs and policy files."""
    report = ["ReportBatchItemFailures"]
    out: Json = {}
    for function, logical in FUNCTIONS.items():
        checks = [
            c for c in FUNCTION_SKIPS if not (c == "CKV_AWS_115" and function in ("payment", "sweep_pending_orders"))
        ]
        if function == "api_handler":
            checks.remove("CKV_AWS_117")
        out[logical] = {"Metadata": skip(*((c, FUNCTION_SKIPS[c]) for c in checks))}
        out["".join(p.capitalize() for p in function.split("_")) + "LogGroup"] = {"Metadata": skip(LOG_GROUP_SKIP)}
    return deep_merge(
        out,
        {
            "ProcessOrder": {
                "Properties": {
                    "Events": {
                        "ProcessOrderSqsEventSource": {
                            "Properties": {"Queue": sub("${OrdersQueue.Arn}"), "FunctionResponseTypes": report}
                        }
                    }
                }
            },
            "Notify": {
                "Properties": {
                    "Events": {
                        "NotifyDynamodbEventSource": {
                            "Properties": {
                                "Stream": sub("${OrdersTable.StreamArn}"),
                                "FunctionResponseTypes": report,
                                "BisectBatchOnFunctionError": True,
                                "MaximumRetryAttempts": 5,
                                "MaximumRecordAgeInSeconds": 3600,
                                "DestinationConfig": {
                                    "OnFailure": {"Type": "SQS", "Destination": getatt("EventFailuresQueue", "Arn")}
                                },
                            }
                        }
                    }
                }
            },
            "SweepPendingOrders": {
                "Properties": {
                    # A failed sweep is retried by the next minute's run; failures are kept for the alarm.
                    "EventInvokeConfig": {
                        "MaximumRetryAttempts": 0,
                        "DestinationConfig": {
                            "OnFailure": {"Type": "SQS", "Destination": getatt("EventFailuresQueue", "Arn")}
                        },
                    },
                    "Events": {
                        "SweepPendingOrdersEvent": {
                            "Properties": {
                                "DeadLetterConfig": {"Arn": getatt("EventFailuresQueue", "Arn")},
                                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60},
                            }
                        }
                    },
                }
            },
            "APIHandler": {
                "Properties": {
                    "VpcConfig": when(
                        "DaxOn", {"SubnetIds": ref("DaxSubnetIds"), "SecurityGroupIds": ref("DaxSecurityGroupIds")}
                    ),
                    "Environment": {
                        "Variables": {
                            "DAX_ENDPOINT": when("DaxOn", getatt("DaxCluster", "ClusterDiscoveryEndpointURL")),
                            "WEB_API_KEY": WEB_API_KEY_VALUE,
                        }
                    },
                }
            },
            "RestAPI": api_overrides(),
            "WebsocketAPIStage": websocket_stage(),
        },
    )


def websocket_stage() -> Json:
    """Throttling and access logs of the WebSocket stage chalice generates."""
    access_format = {
        "requestId": "$context.requestId",
        "connectionId": "$context.connectionId",
        "routeKey": "$context.routeKey",
        "eventType": "$context.eventType",
        "status": "$context.status",
        "integrationError": "$context.integrationErrorMessage",
        "ip": "$context.identity.sourceIp",
        "time": "$context.requestTime",
    }
    return {
        "Properties": {
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": WEBSOCKET_RATE_LIMIT,
                "ThrottlingBurstLimit": WEBSOCKET_BURST_LIMIT,
                "DetailedMetricsEnabled": True,
                "DataTraceEnabled": False,
            },
            "AccessLogSettings": {
                "DestinationArn": getatt("ApiAccessLogs", "Arn"),
                "Format": json.dumps(access_format),
            },
        }
    }


def alarms() -> Json:
    topic = ref("OperatorsTopic")

    def alarm(description: str, **props: Any) -> Json:
        return {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": description,
                "AlarmActions": [topic],
                "OKActions": [topic],
                "TreatMissingData": "notBreaching",
                **props,
            },
        }

    api_dims = [{"Name": "ApiName", "Value": sub("chowline-${Stage}")}, {"Name": "Stage", "Value": "api"}]
    out: Json = {
        "OperatorsTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": sub("chowline-${Stage}-operators"), "KmsMasterKeyId": "alias/aws/sns"},
        },
        "OperatorsEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasOperatorsEmail",
            "Properties": {
                "TopicArn": topic,
                "Protocol": "email",
                "Endpoint": ref("OperatorsEmail"),
                "RedrivePolicy": {"deadLetterTargetArn": getatt("EventFailuresQueue", "Arn")},
            },
        },
        "OrdersDlqDepthAlarm": alarm(
            "Orders reached the dead-letter queue: inspect, fix, then redrive",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": getatt("OrdersDeadLetterQueue", "QueueName")}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        ),
        "EventFailuresDepthAlarm": alarm(
            "Event batches or scheduled runs failed after retries (notifications not sent, sweep failed)",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": getatt("EventFailuresQueue", "QueueName")}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        ),
        "Api5xxRateAlarm": alarm(
            "More than 1% of API requests answered 5xx over 5 minutes",
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
            Metrics=[
                {
                    "Id": "errors",
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "5XXError", "Dimensions": api_dims},
                        "Period": 300,
                        "Stat": "Sum",
                    },
                },
                {
                    "Id": "requests",
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Count", "Dimensions": api_dims},
                        "Period": 300,
                        "Stat": "Sum",
                    },
                },
                {
                    "Id": "rate",
                    "Expression": "IF(requests > 0, 100 * errors / requests, 0)",
                    "Label": "5xx %",
                    "ReturnData": True,
                },
            ],
        ),
        "ApiLatencyP99Alarm": alarm(
            "API p99 latency above 2 s for 3 of 5 minutes",
            Namespace="AWS/ApiGateway",
            MetricName="Latency",
            Dimensions=api_dims,
            ExtendedStatistic="p99",
            Period=60,
            EvaluationPeriods=5,
            DatapointsToAlarm=3,
            Threshold=2000,
            ComparisonOperator="GreaterThanThreshold",
        ),
    }
    ws_dims = [{"Name": "ApiId", "Value": ref("WebsocketAPI")}, {"Name": "Stage", "Value": "api"}]
    for metric, description in (
        ("IntegrationError", "WebSocket: the connect, message or disconnect function failed"),
        ("ExecutionError", "WebSocket: API Gateway could not run a route"),
    ):
        out[f"Websocket{metric}Alarm"] = alarm(
            description,
            Namespace="AWS/ApiGateway",
            MetricName=metric,
            Dimensions=ws_dims,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=10,
            ComparisonOperator="GreaterThanThreshold",
        )
    for function, logical in FUNCTIONS.items():
        dims = [{"Name": "FunctionName", "Value": sub("chowline-${Stage}-" + function)}]
        out[f"{logical}ErrorsAlarm"] = alarm(
            f"{function}: invocation errors",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=dims,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            # The API answers its own faults as problems; a crash there is rarer than in batch work.
            Threshold=5 if function == "api_handler" else 0,
            ComparisonOperator="GreaterThanThreshold",
        )
        out[f"{logical}ThrottlesAlarm"] = alarm(
            f"{function}: throttled invocations",
            Namespace="AWS/Lambda",
            MetricName="Throttles",
            Dimensions=dims,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    return out


def dashboard() -> Json:
    def widget(title: str, metrics: list[list[Any]], stat: str = "Sum", x: int = 0, y: int = 0) -> Json:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {"title": title, "region": "${AWS::Region}", "stat": stat, "period": 60, "metrics": metrics},
        }

    api = ["ApiName", "chowline-${Stage}", "Stage", "api"]
    fns = [f"chowline-${{Stage}}-{f}" for f in FUNCTIONS]
    widgets = [
        widget(
            "API requests and errors",
            [
                ["AWS/ApiGateway", "Count", *api],
                [".", "4XXError", *api],
                [".", "5XXError", *api],
                [".", "CacheHitCount", *api],
            ],
        ),
        widget(
            "API latency",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                ["...", {"stat": "p99"}],
                [".", "IntegrationLatency", *api, {"stat": "p99"}],
            ],
            stat="p99",
            x=12,
        ),
        widget("Lambda errors", [["AWS/Lambda", "Errors", "FunctionName", f] for f in fns], y=6),
        widget("Lambda throttles", [["AWS/Lambda", "Throttles", "FunctionName", f] for f in fns], x=12, y=6),
        widget("Lambda p99 duration", [["AWS/Lambda", "Duration", "FunctionName", f] for f in fns], stat="p99", y=12),
        widget(
            "Order queue",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "chowline-${Stage}-orders.fifo"],
                [".", "ApproximateAgeOfOldestMessage", ".", "."],
                [".", "ApproximateNumberOfMessagesVisible", ".", "chowline-${Stage}-orders-dlq.fifo"],
                [".", ".", ".", "chowline-${Stage}-event-failures"],
            ],
            stat="Maximum",
            x=12,
            y=12,
        ),
        widget(
            "Firewall",
            [
                [
                    "AWS/WAFV2",
                    "BlockedRequests",
                    "WebACL",
                    "chowline-${Stage}-api",
                    "Region",
                    "${AWS::Region}",
                    "Rule",
                    "ALL",
                ],
                [".", "AllowedRequests", ".", ".", ".", ".", ".", "."],
            ],
            y=18,
        ),
    ]
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": sub("chowline-${Stage}"),
                "DashboardBody": sub(json.dumps({"widgets": widgets}, separators=(",", ":"))),
            },
        }
    }


def outputs() -> Json:
    return {
        "DistributionDomainName": {"Value": getatt("Distribution", "DomainName")},
        "ApiBaseUrl": {
            "Value": when(
                "HasCustomDomain", sub("https://${DomainName}/api"), sub("https://${Distribution.DomainName}/api")
            )
        },
        "AssetsBaseUrl": {"Value": sub("https://${AssetsDistribution.DomainName}")},
        "WebBucketName": {"Value": ref("WebBucket")},
        "HostedUiDomain": {"Value": sub("${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com")},
        "WebClientId": {"Value": ref("WebClient")},
        "PartnerApiKeyId": {"Value": ref("PartnerApiKey")},
        "MobileApiKeyId": {"Value": ref("MobileApiKey")},
        "OperatorsTopicArn": {"Value": ref("OperatorsTopic")},
        "WebAclArn": {"Value": getatt("WebAcl", "Arn")},
        "WebSocketUrl": {"Value": sub("wss://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api")},
        "DaxEndpoint": {"Condition": "DaxOn", "Value": getatt("DaxCluster", "ClusterDiscoveryEndpointURL")},
    }


def tracing() -> Json:
    """1 % of requests traced, no reservoir: enough to see where time goes at 10M requests a
    month while staying near X-Ray's free 100K traces (the default 1/s + 5 % records ~2.4M)."""
    return {
        "TraceSampling": {
            "Type": "AWS::XRay::SamplingRule",
            "Properties": {
                "SamplingRule": {
                    "RuleName": sub("chowline-${Stage}"),
                    "Priority": 100,
                    "FixedRate": TRACE_SAMPLING_RATE,
                    "ReservoirSize": 0,
                    "ServiceName": "*",
                    "ServiceType": "*",
                    "Host": "*",
                    "HTTPMethod": "*",
                    "URLPath": "*",
                    "ResourceARN": "*",
                    "Version": 1,
                }
            },
        }
    }


def build() -> Json:
    resources: Json = {}
    for part in (
        waf(),
        tracing(),
        api_resources(),
        cdn(),
        cognito(),
        dax(),
        events(),
        alarms(),
        dashboard(),
        stateful_overrides(),
        function_overrides(),
    ):
        resources.update(part)
    return {
        "Description": (
            "Chowline production stack: the stateful resources of template.json, the chalice functions and API, "
            "and the edge: regional WAF on the API stage, CloudFront with origin access control, Cognito hosted UI "
            "and identity providers, alarms and a dashboard."
        ),
        "Metadata": {
            "WafAssociation": waf()["WebAcl"]["Metadata"]["Association"],
            "Overrides": "Entries without a Type (APIHandler, ProcessOrder, Notify, RestAPI) merge into the resources chalice generates.",
        },
        "Parameters": parameters(),
        "Conditions": conditions(),
        "Resources": resources,
        "Outputs": outputs(),
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    sys.stdout.write(f"wrote {OUT}\n")

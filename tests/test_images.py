"""Image uploads: a presigned POST straight to the emulator's bucket, then confirmation."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from tests.catalog_support import CatalogApi, body
from tests.image_files import jpeg, png, webp

FIVE_MIB = 5 * 1024 * 1024


PNG = png()


@pytest.fixture(scope="module")
def api(client, headers_for):
    return CatalogApi(client, headers_for)


@pytest.fixture(scope="module")
def owner(new_user):
    return new_user("customers", "restaurant_owners")


@pytest.fixture
def product(api, owner):
    restaurant = api.restaurant(owner[0])
    return api.product(restaurant["restaurant_id"], owner[1])


def _start(api, owner, path, payload=None):
    response = api.call("POST", path, owner[1], payload if payload is not None else {"content_type": "image/png"})
    assert response.status_code == 201, response.body
    return body(response)


def _policy(upload):
    fields = upload["upload"]["fields"]
    return json.loads(base64.b64decode(fields["policy"]))


def _post(upload, data, content_type):
    fields = dict(upload["upload"]["fields"])
    fields.setdefault("Content-Type", content_type)
    return requests.post(
        upload["upload"]["url"], data=fields, files={"file": ("image", data, content_type)}, timeout=10
    )


def test_presigned_post_uploads_a_png_and_confirmation_sets_image_url(api, owner, product, stack, aws):
    pid = product["product_id"]
    upload = _start(api, owner, f"/products/{pid}/image")
    key = upload["image_key"]
    assert key.startswith(f"products/{pid}/") and upload["expires_in"] == 300
    fields = upload["upload"]["fields"]
    assert fields["key"] == key and fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-credential"].endswith("/us-east-1/s3/aws4_request")
    assert upload["upload"]["url"].startswith(stack["env"]["AWS_ENDPOINT_URL"])

    conditions = _policy(upload)["conditions"]
    assert ["content-length-range", 1, FIVE_MIB] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    assert {"key": key} in conditions and {"bucket": stack["env"]["ASSETS_BUCKET"]} in conditions

    posted = _post(upload, PNG, "image/png")
    assert posted.status_code in (200, 201, 204), posted.text

    confirmed = api.call("PUT", f"/products/{pid}/image", owner[1], {"image_key": key})
    assert confirmed.status_code == 200, confirmed.body
    url = body(confirmed)["image_url"]
    published = f"images/{key}.png"
    assert url == f"{stack['env']['AWS_ENDPOINT_URL']}/{stack['env']['ASSETS_BUCKET']}/{published}"
    assert body(api.call("GET", f"/products/{pid}"))["image_url"] == url
    menu = body(api.call("GET", f"/restaurants/{product['restaurant_id']}/products"))["items"]
    assert menu[0]["image_url"] == url
    # The bucket stays private (CloudFront reads it on AWS): check the stored bytes directly.
    s3, bucket = aws("s3"), stack["env"]["ASSETS_BUCKET"]
    stored = s3.get_object(Bucket=bucket, Key=published)
    assert stored["Body"].read() == PNG and stored["ContentType"] == "image/png"
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key=key)  # the upload itself is gone


def test_a_declared_type_is_pinned_in_the_policy(api, owner, product):
    upload = _start(api, owner, f"/products/{product['product_id']}/image", {"content_type": "image/webp"})
    conditions = _policy(upload)["conditions"]
    assert {"Content-Type": "image/webp"} in conditions
    assert upload["upload"]["fields"]["Content-Type"] == "image/webp"
    for bad in ({"content_type": "image/gif"}, {"content_type": "text/html"}, {"colour": "red"}, {}):
        response = api.call("POST", f"/products/{product['product_id']}/image", owner[1], bad)
        assert response.status_code == 400, bad


def test_wrong_keys_and_missing_or_bad_uploads_are_refused(api, owner, product, aws, stack):
    pid = product["product_id"]
    other = api.product(product["restaurant_id"], owner[1])["product_id"]
    upload = _start(api, owner, f"/products/{pid}/image")
    key = upload["image_key"]
    path = f"/products/{pid}/image"

    # Keys the server did not hand out for this product.
    for wrong in (
        f"products/{other}/{key.rsplit('/', 1)[1]}",
        f"restaurants/{pid}/{key.rsplit('/', 1)[1]}",
        f"products/{pid}/../{other}/{key.rsplit('/', 1)[1]}",
        f"products/{pid}/not-an-upload-id",
        "",
    ):
        response = api.call("PUT", path, owner[1], {"image_key": wrong})
        assert response.status_code == 400, (wrong, response.body)

    # The right key, but nothing uploaded yet.
    missing = api.call("PUT", path, owner[1], {"image_key": key})
    assert missing.status_code == 422 and body(missing)["errors"][0]["field"] == "image_key"

    bucket = stack["env"]["ASSETS_BUCKET"]
    s3 = aws("s3")
    bad_uploads = [
        (b"<html><script>alert(1)</script></html>", "text/html"),
        (b"GIF89a" + b"0" * 100, "image/gif"),
        (b"not really a png at all", "image/png"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * FIVE_MIB, "image/png"),
        # Magic bytes in front of a page: the header goes no further.
        (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "image/png"),
        (b"\xff\xd8\xff\xe0<svg onload=alert(1)>", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBP<html>", "image/webp"),
        # A real header whose CRC is wrong, or whose picture is absurd.
        (PNG[:29] + b"\x00\x00\x00\x00" + PNG[33:], "image/png"),
        (png(width=100_000, height=1), "image/png"),
        (png(width=9000, height=9000), "image/png"),
        (jpeg(width=0), "image/jpeg"),
        (webp(width=16000, kind=b"VP8X"), "image/webp"),
        # A real image under another type's name, and one cut short.
        (PNG, "image/jpeg"),
        (PNG[:-12], "image/png"),
        (jpeg()[:-2], "image/jpeg"),
    ]
    for data, content_type in bad_uploads:
        bad = _start(api, owner, path)
        s3.put_object(Bucket=bucket, Key=bad["image_key"], Body=data, ContentType=content_type)
        response = api.call("PUT", path, owner[1], {"image_key": bad["image_key"]})
        assert response.status_code == 422, (content_type, len(data), response.body)
        with pytest.raises(s3.exceptions.ClientError):
            s3.head_object(Bucket=bucket, Key=bad["image_key"])  # dropped, never served
    assert body(api.call("GET", f"/products/{pid}"))["image_url"] is None


def test_restaurant_image(api, owner, stack):
    restaurant = api.restaurant(owner[0])
    rid = restaurant["restaurant_id"]
    upload = _start(api, owner, f"/restaurants/{rid}/image", {"content_type": "image/jpeg"})
    assert upload["image_key"].startswith(f"restaurants/{rid}/")
    assert _post(upload, jpeg(metadata=20_000), "image/jpeg").status_code in (200, 201, 204)
    confirmed = api.call("PUT", f"/restaurants/{rid}/image", owner[1], {"image_key": upload["image_key"]})
    assert confirmed.status_code == 200, confirmed.body
    url = body(confirmed)["image_url"]
    assert url.endswith(f"images/{upload['image_key']}.jpg")
    assert body(api.call("GET", f"/restaurants/{rid}"))["image_url"] == url
    listed = body(api.call("GET", f"/restaurants?city={restaurant['city']}&limit=100"))["items"]
    assert next(r for r in listed if r["restaurant_id"] == rid)["image_url"] == url


@pytest.mark.parametrize(
    ("content_type", "data"),
    [("image/webp", webp()), ("image/webp", webp(kind=b"VP8X")), ("image/webp", webp(kind=b"VP8 "))],
)
def test_webp_images_of_each_kind_are_accepted(api, owner, product, aws, stack, content_type, data):
    pid = product["product_id"]
    upload = _start(api, owner, f"/products/{pid}/image", {"content_type": content_type})
    assert _post(upload, data, content_type).status_code in (200, 201, 204)
    confirmed = api.call("PUT", f"/products/{pid}/image", owner[1], {"image_key": upload["image_key"]})
    assert confirmed.status_code == 200, confirmed.body
    assert body(confirmed)["image_url"].endswith(".webp")


def test_posting_the_form_again_after_confirming_cannot_swap_what_is_served(api, owner, product, aws, stack):
    """The old weakness: the form stays valid for minutes, and the served object was the
    uploaded one. Now the served object is a copy the form cannot reach."""
    pid = product["product_id"]
    upload = _start(api, owner, f"/products/{pid}/image")
    assert _post(upload, PNG, "image/png").status_code in (200, 201, 204)
    confirmed = api.call("PUT", f"/products/{pid}/image", owner[1], {"image_key": upload["image_key"]})
    assert confirmed.status_code == 200, confirmed.body
    url = body(confirmed)["image_url"]

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)"/>'
    fields = dict(upload["upload"]["fields"])
    fields["Content-Type"] = "image/svg+xml"
    reposted = requests.post(upload["upload"]["url"], data=fields, files={"file": ("x.svg", svg)}, timeout=10)
    assert reposted.status_code in (200, 201, 204, 403)  # the emulator does not enforce policies

    s3, bucket = aws("s3"), stack["env"]["ASSETS_BUCKET"]
    served = s3.get_object(Bucket=bucket, Key=url.split(f"/{bucket}/", 1)[1])
    assert served["Body"].read() == PNG and served["ContentType"] == "image/png"
    assert body(api.call("GET", f"/products/{pid}"))["image_url"] == url
    # Confirming the swapped upload is refused (its bytes are not the declared image).
    again = api.call("PUT", f"/products/{pid}/image", owner[1], {"image_key": upload["image_key"]})
    assert again.status_code == 422, again.body
    assert body(api.call("GET", f"/products/{pid}"))["image_url"] == url


def test_the_cdn_serves_published_images_only_never_sniffed_and_under_a_strict_csp():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "infra"))
    import edge

    resources = edge.build()["Resources"]
    behavior = resources["AssetsDistribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": "AssetsHeadersPolicy"}
    config = resources["AssetsHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert config["ContentTypeOptions"] == {"Override": True}  # X-Content-Type-Options: nosniff
    csp = config["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    reads = resources["AssetsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert reads["Action"] == "s3:GetObject"
    assert reads["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": ["AssetsBucket", "Arn"]}, "/images/*"]]}

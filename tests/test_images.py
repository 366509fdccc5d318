"""Image uploads: a presigned POST straight to the emulator's bucket, then confirmation."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from tests.catalog_support import CatalogApi, body

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # 10 KiB and a bit
FIVE_MIB = 5 * 1024 * 1024


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
    response = api.call("POST", path, owner[1], payload if payload is not None else {})
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
    assert ["starts-with", "$Content-Type", "image/"] in conditions
    assert {"key": key} in conditions and {"bucket": stack["env"]["ASSETS_BUCKET"]} in conditions

    posted = _post(upload, PNG, "image/png")
    assert posted.status_code in (200, 201, 204), posted.text

    confirmed = api.call("PUT", f"/products/{pid}/image", owner[1], {"image_key": key})
    assert confirmed.status_code == 200, confirmed.body
    url = body(confirmed)["image_url"]
    assert url == f"{stack['env']['AWS_ENDPOINT_URL']}/{stack['env']['ASSETS_BUCKET']}/{key}"
    assert body(api.call("GET", f"/products/{pid}"))["image_url"] == url
    menu = body(api.call("GET", f"/restaurants/{product['restaurant_id']}/products"))["items"]
    assert menu[0]["image_url"] == url
    # The bucket stays private (CloudFront reads it on AWS): check the stored bytes directly.
    stored = aws("s3").get_object(Bucket=stack["env"]["ASSETS_BUCKET"], Key=key)
    assert stored["Body"].read() == PNG and stored["ContentType"] == "image/png"


def test_a_declared_type_is_pinned_in_the_policy(api, owner, product):
    upload = _start(api, owner, f"/products/{product['product_id']}/image", {"content_type": "image/webp"})
    conditions = _policy(upload)["conditions"]
    assert {"Content-Type": "image/webp"} in conditions
    assert upload["upload"]["fields"]["Content-Type"] == "image/webp"
    for bad in ({"content_type": "image/gif"}, {"content_type": "text/html"}, {"colour": "red"}):
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
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 4096
    assert _post(upload, jpeg, "image/jpeg").status_code in (200, 201, 204)
    confirmed = api.call("PUT", f"/restaurants/{rid}/image", owner[1], {"image_key": upload["image_key"]})
    assert confirmed.status_code == 200, confirmed.body
    url = body(confirmed)["image_url"]
    assert url.endswith(upload["image_key"])
    assert body(api.call("GET", f"/restaurants/{rid}"))["image_url"] == url
    listed = body(api.call("GET", f"/restaurants?city={restaurant['city']}&limit=100"))["items"]
    assert next(r for r in listed if r["restaurant_id"] == rid)["image_url"] == url

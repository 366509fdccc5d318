"""Images of products and restaurants, in two steps that never pass the bytes through Lambda:

1. ``start_*_upload``: the owner gets an S3 presigned POST for a key the server chose
   (``products/{id}/{upload id}``), limited to jpeg/png/webp and 5 MiB by its policy.
2. The client posts the file straight to S3, then ``confirm_*_image`` with that key: the
   object must exist under this item's prefix, be an allowed type (its whole image header,
   not only the declared type) and within the size limit; only then is that very version
   copied to a key of its own under ``images/`` (the only prefix the CDN serves), with the
   content type the server found, and the item's ``image_url`` points at the copy. Posting
   the form again later changes only the upload, never what is served.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from chalicelib.adapters.storage import AssetStorage
from chalicelib.domain import catalog as model
from chalicelib.domain import images
from chalicelib.domain.errors import Conflict, FieldError, Unprocessable
from chalicelib.domain.principal import Principal
from chalicelib.services.catalog import CatalogService


def _upload_id() -> str:
    return uuid.uuid4().hex


class AssetsService:
    def __init__(
        self,
        catalog: CatalogService,
        storage: AssetStorage,
        base_url: str,
        upload_seconds: int,
        upload_id: Callable[[], str] = _upload_id,
    ) -> None:
        self._catalog = catalog
        self._storage = storage
        self._base_url = base_url.rstrip("/")
        self._upload_seconds = upload_seconds
        self._upload_id = upload_id

    def start_product_upload(
        self, principal: Principal, product_id: str, cmd: model.ImageUploadRequest
    ) -> model.ImageUpload:
        self._catalog.managed_product(principal, product_id)
        return self._start(model.image_prefix("products", product_id), cmd)

    def confirm_product_image(self, principal: Principal, product_id: str, cmd: model.ImageConfirm) -> model.Product:
        self._catalog.managed_product(principal, product_id)
        published = self._publish(model.image_prefix("products", product_id), cmd.image_key)
        return self._catalog.set_product_image(product_id, published, self._url(published))

    def start_restaurant_upload(
        self, principal: Principal, restaurant_id: str, cmd: model.ImageUploadRequest
    ) -> model.ImageUpload:
        self._catalog.managed_restaurant(principal, restaurant_id)
        return self._start(model.image_prefix("restaurants", restaurant_id), cmd)

    def confirm_restaurant_image(
        self, principal: Principal, restaurant_id: str, cmd: model.ImageConfirm
    ) -> model.ManagedRestaurant:
        self._catalog.managed_restaurant(principal, restaurant_id)
        published = self._publish(model.image_prefix("restaurants", restaurant_id), cmd.image_key)
        return self._catalog.set_restaurant_image(restaurant_id, published, self._url(published))

    def _start(self, prefix: str, cmd: model.ImageUploadRequest) -> model.ImageUpload:
        key = prefix + self._upload_id()
        post = self._storage.presigned_post(
            key,
            content_type=cmd.content_type,
            max_bytes=model.MAX_IMAGE_BYTES,
            expires_in=self._upload_seconds,
        )
        return model.ImageUpload(
            upload=model.PresignedPost(url=post["url"], fields=post["fields"]),
            image_key=key,
            expires_in=self._upload_seconds,
        )

    def _publish(self, prefix: str, key: str) -> str:
        """Checks the upload and copies it to its published key; returns that key."""
        model.check_image_key(key, prefix)
        stored = self._storage.inspect(key, images.HEADER_BYTES, images.TAIL_BYTES)
        if stored is None:
            raise Unprocessable(
                "Nothing was uploaded under this key (or the upload expired)",
                [FieldError("image_key", "no uploaded object")],
            )
        try:
            image = model.accepted_image(stored.content_type, stored.size, stored.head, stored.tail)
        except Unprocessable:
            self._storage.delete(key)  # never served: drop it now rather than at expiry
            raise
        published = model.published_image_key(key, image)
        if not self._storage.publish(key, stored, published, image.content_type):
            raise Conflict("The upload changed while it was being checked; confirm it again")
        self._storage.delete(key)
        return published

    def _url(self, key: str) -> str:
        return f"{self._base_url}/{key}"

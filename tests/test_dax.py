"""DAX wiring: which client the catalog repositories read through, for each setting.

DAX has no emulator; it speaks DynamoDB's API, so the "cluster" here is a recording
stand-in that forwards to the emulator's DynamoDB: the repositories' own code runs."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from chalicelib.adapters.dax import DaxClients
from chalicelib.bootstrap import Container
from chalicelib.settings import Settings
from tests.ordering import seed_product, seed_restaurant

ENDPOINT = "daxs://chowline-prod.abc123.dax-clusters.us-east-1.amazonaws.com"


class RecordingDax:
    """Forwards to a DynamoDB client and records each operation's name."""

    def __init__(self, dynamodb: Any, **options: Any) -> None:
        self.options = options
        self.calls: list[str] = []
        self._dynamodb = dynamodb

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._dynamodb, name)

        def call(**params: Any) -> Any:
            self.calls.append(name)
            return operation(**params)

        return call


def test_without_dax_the_catalog_reads_dynamodb_itself(stack):
    container = Container(Settings.from_env({**stack["env"], "DAX_ENDPOINT": ""}))
    assert container.catalog_reads is container.clients
    assert container.catalog._restaurants.reads is container.clients
    assert container.catalog._products.reads is container.clients


def test_with_dax_the_catalog_reads_through_the_cluster(stack):
    container = Container(Settings.from_env({**stack["env"], "DAX_ENDPOINT": ENDPOINT}))
    reads = container.catalog_reads
    assert isinstance(reads, DaxClients) and reads.endpoint == ENDPOINT
    assert container.catalog._restaurants.reads is reads and container.catalog._products.reads is reads
    # Only DynamoDB is served by the cluster; every other service is the usual client.
    assert reads.get("sqs") is container.clients.get("sqs")


def test_reads_go_to_the_cluster_and_writes_to_dynamodb(stack, aws):
    container = Container(Settings.from_env({**stack["env"], "DAX_ENDPOINT": ""}))
    made: list[RecordingDax] = []

    def cluster(**options: Any) -> RecordingDax:
        made.append(RecordingDax(container.clients.get("dynamodb"), **options))
        return made[-1]

    reads = DaxClients(ENDPOINT, "us-east-1", container.clients, factory=cluster)
    from chalicelib.adapters.catalog_repo import ProductsRepository

    products = ProductsRepository(
        container.clients, container.cursors, container.settings.products_table, container.settings.users_table, reads
    )
    restaurant = seed_restaurant(aws, "owner-dax")
    product = seed_product(aws, restaurant)
    assert products.get(product)["product_id"] == product
    items, _ = products.menu_page(restaurant, limit=10, cursor=None)
    assert [i["product_id"] for i in items] == [product]
    assert products.update(product, {"name": "Renamed"}) is not None
    [dax] = made
    assert dax.options == {"endpoint_url": ENDPOINT, "region_name": "us-east-1"}
    assert dax.calls == ["get_item", "query"], "the write went to DynamoDB, not the cluster"


def test_the_dax_client_is_imported_on_first_use_only():
    code = "import app, sys; print('amazondax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    from amazondax import AmazonDaxClient

    assert callable(AmazonDaxClient)

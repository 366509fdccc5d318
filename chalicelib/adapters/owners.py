"""Who owns a restaurant: one projected GetItem on Restaurants (the notifier's only read of
the catalog, kept apart so that it reaches nothing else of it)."""

from __future__ import annotations

from chalicelib.adapters.aws import AwsClients, aws_errors


class RestaurantOwners:
    def __init__(self, clients: AwsClients, table: str) -> None:
        self._clients = clients
        self._table = table

    def owner_of(self, restaurant_id: str) -> str | None:
        with aws_errors("The catalog"):
            out = self._clients.get("dynamodb").get_item(
                TableName=self._table, Key={"restaurant_id": {"S": restaurant_id}}, ProjectionExpression="owner_id"
            )
        owner = (out.get("Item") or {}).get("owner_id", {}).get("S")
        return str(owner) if owner else None

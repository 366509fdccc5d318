"""The embedded AWS emulator: moto's server with the patches below, applied in this process only.

    python -m devtools.emulator_server [-H 127.0.0.1] [-p 5000] [--signing-key-file PATH]

1. Cognito signs with a key made for this run. moto signs every token with a private key it
   ships (kid "dummy"), so anyone could mint an admin token for the local stack. Here the
   tokens carry a fresh kid, are signed with a fresh RSA key, and the pools' JWKS serves
   only its public half. ``--signing-key-file`` writes the private JWK (mode 0600) for tests
   that need to sign tokens with bad claims; nothing else reads it.
2. DynamoDB transactions journal the items they touch. moto deep-copies every table a
   transaction names before it starts, to restore them all if it is cancelled: the cost
   grows with the tables, and the restore erases writes made meanwhile. Here a transaction
   remembers each item (and the stream length of each table) before it first touches it,
   and a cancelled one puts back exactly those. Conditions, cancellation reasons and the
   order of moto's own logic are unchanged: its code runs as is, only its table copy is
   made a no-op. DynamoDB and its stream are served one call at a time, so a transaction
   is isolated from every other call, as on AWS. Where this differs from moto, on purpose:
   writes beside a cancelled transaction survive, a stream iterator opened before it keeps
   reading the table's stream (moto's restored table has a new one), and a transaction
   that fails in any way (moto lets one malformed item escape its rollback) leaves nothing.
3. moto's list of its services is read once, not twice per request, each handler class's
   list of actions once, not on every request, and each name's snake-case spelling once.
4. DynamoDB's and DynamoDB Streams' item answers (GetItem, Query, GetRecords, ...) are
   written as JSON directly. moto renders every answer by walking botocore's output shape,
   member by member (ten candidate members per attribute value, several name spellings each):
   most of the emulator's time for nested items such as orders, and for a stream read of a
   hundred records. Those answers are DynamoDB's wire format already, so the rendering keeps
   moto's rules (no null members, timestamps as epoch seconds, blobs in base64) without the
   walk; anything else (an error, an answer that is not plain data, any other action) is
   rendered by moto as before. One difference, on purpose: a binary attribute in a stream
   record is base64 once, as on AWS (moto encodes its already encoded value again).
5. A new item checks DynamoDB's 400 KB limit once, on the whole item. moto adds its
   attributes one by one and sums the size of everything added so far at each: quadratic
   in the item's size, a good part of a write of an order. The sizes only add up, so the
   whole is over the limit exactly when some attribute would have taken it over: the same
   ItemSizeTooLarge, for the same items.
6. Connections are kept (HTTP/1.1 keep-alive). werkzeug's development server closes every
   one after its answer, so each AWS call paid a TCP connection, a server thread and a 10 ms
   drain of the socket. Measured here: a client's GetItem took 1.10 ms of its CPU and 2.07
   ms of wall time instead of 1.72 and 3.47 ms; eight clients got 720-820 simple calls/s
   instead of 470-650.

7. Each expression is parsed once. moto tokenizes and parses a transaction's update
   expressions twice (once to check the names used, once to apply them) and lexes every
   condition character by character, on every call, though the app sends the same few
   expressions over and over. Here an update expression's syntax tree and a condition's
   tokens are kept by the expression's text (1,024 of each): moto's validator copies the
   tree before it binds names and values to it, and its condition parser builds new nodes
   from the tokens, so neither is ever changed by a call. A condition's syntax tree is kept
   too, by its text, names and values (1,024 of them), with the names and values it was
   found to use (what a transaction's check reads before it starts): built from those
   alone, it is only read when tested against an item; a claim's or a transaction's
   condition comes again with the same values within the second. A malformed expression
   still fails on every call, as before (a failure is not kept).
8. A Query reads only the partition it asks for. moto answers every Query, on a table or an
   index, by sorting every item of the table and testing each: a Query's cost grew with
   the table (3.4 ms at 500 items, 17 ms at 5,000, 76 ms at 20,000 here), and with it every
   order list, inbox and offer of a local stack that has served a lunch rush. Here a table's
   Query gets only the items of its partition key, and an index's only those whose index
   partition key has the value asked for (kept per index, built on the index's first Query,
   brought up to date by every write: put, delete, update, a cancelled transaction's
   restore); moto's own code then tests, sorts, pages, filters and projects them as before.
   A Query it cannot narrow this way (no equality on every partition key attribute) reads
   the whole table, as before.
9. What survives a full garbage collection is frozen (``gc.freeze``). Python's full
   collection walks every live object, and the tables' items are most of them: with 5,000
   orders stored each took about 150 ms, a pause in whatever call was being served, and
   they grow with the tables. Frozen items are left out of later collections (refcounting
   still frees a deleted one). The one cost: a cycle made only of frozen objects is never
   collected, and the tables hold no such cycles.

10. A signed AWS call to DynamoDB, DynamoDB Streams, SQS, SNS or Cognito goes straight to
   moto's handler for it. moto's server routes every request through Flask (a request
   context, URL matching, a debug-mode form hook, CORS and response finalisation around the
   one handler call) after a service lookup under a lock that parses the credential scope
   and the target header again on every call. Here the handler found for a (path, target,
   signing service) of a POST is kept, and the call is made as moto's Flask view makes it
   (``convert_to_flask_response``): the same request class, the same answer for a
   ClientError, the same Response and CORS header. Measured here: 0.49-0.54 -> 0.45 ms of
   the emulator's CPU per simple call from one client. Anything else (unsigned, a browser's
   request with an Origin, S3, the JWKS, moto's own API) goes through Flask as before.

11. A DynamoDB request without a binary value is read as the JSON it is. moto reads every
   request body by walking botocore's input shape, member by member, to convert what JSON
   cannot carry: in DynamoDB's item operations that is only a binary attribute value (B, BS:
   base64 to bytes), so a body without one comes out of the walk as ``json.loads`` reads
   it, less the members the walk drops (those the shape lacks, and nulls, which botocore
   never sends). Operations with a timestamp or another blob in their input (backups,
   exports) and any body with a ``"B"`` or ``"BS"`` member are walked as before.
12. An update expression's own checks are made once for its names. moto validates every
   update in ten passes over a deep copy of the expression's tree; the first three (one
   SET, REMOVE, ADD and DELETE clause at most; no two paths that overlap; no key attribute
   set) read only the tree, its attribute names and the table's key, and re-ran their
   searches of the tree at each of its nodes. Here they run on a text's first use with
   given names and key, and are skipped on a later call with the same three, which they
   would pass again; a set of names they refuse is refused on every call. The other seven
   passes (values, paths into the item, functions, types) run on every call as before, on
   a copy of the tree made node by node instead of by deepcopy's generic walk, and moto's
   walk itself asks isinstance once per node class, not at every node. Measured here: a
   transaction of the processor's shape (two updates, two condition checks) took 2.9-3.5
   ms of the emulator's CPU instead of 4.0-5.3.
13. A request's header lines are read by splitting each at its colon. The standard library
   reads them with the e-mail parser, a feed parser built per request that tests every line
   against several patterns for mail's own forms (a folded line, a Unix "From " line, a
   header without a name): 6 % of the emulator's CPU in bench.pipeline's load here. A
   block whose every line is a plain ``Name: value`` comes out as the same message (the same
   names and values in order, nothing else set); anything else goes to the parser as before.
14. moto reads the clock as time.time(). moto's ``unix_time()`` builds two datetimes (now,
   and the epoch) and subtracts them, and an SQS queue reads it for every message of the
   queue at every receive (is it visible? delayed?): the same seconds, to the microsecond.
15. An SQS receive reads the queue's retention period as the attribute it is. For each
   message it hands out, moto asked for it through GetQueueAttributes' code, which builds
   every attribute of the queue, three counts of its messages among them (a pass over every
   message each), three times: the cost of a receive grew with the queue.
16. An SQS send builds none of the queue's attributes. moto's send reads one of them
   (ContentBasedDeduplication) four times, through the property that builds them all with
   the three counts of the queue's messages: a send cost the emulator 2.6 ms of CPU with
   the queue empty and 10.5 ms with 1,000 messages queued here, 1.8 and 2.8 ms now. During
   a send the queue's attributes are that one, as moto's property spells it; any other call
   builds them all.

Never imported by chalicelib/ or app.py: the Lambda code runs against AWS as it is.
"""

from __future__ import annotations

import argparse
import base64
import calendar
import copy
import functools
import json
import logging
import os
import re
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from types import SimpleNamespace
from typing import Any

log = logging.getLogger("chowline.emulator")

# One DynamoDB (or DynamoDB Streams) call at a time: the unit of isolation of transactions.
_DYNAMODB_LOCK = threading.RLock()
# The journal of the transaction running on this thread, if any.
_ACTIVE = threading.local()


# --- Cognito: a signing key per run ---------------------------------------------------------


def use_run_signing_key() -> dict[str, Any]:
    """Makes moto's Cognito sign with a new RSA key and serve its public half; returns the
    private JWK."""
    from joserfc import jwk, jwt
    from moto.cognitoidp import models, responses

    if not hasattr(models, "jwt") or not hasattr(responses.CognitoIdpJsonWebKeyResponse, "json_web_key"):
        raise RuntimeError("moto's Cognito no longer signs as this patch expects: review devtools/emulator_server.py")
    kid = f"chowline-{uuid.uuid4().hex}"
    key = jwk.RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})

    def encode(header: dict[str, Any], claims: dict[str, Any], _shipped_key: Any, *args: Any, **kwargs: Any) -> str:
        return jwt.encode({**header, "kid": kid}, claims, key, *args, **kwargs)

    # models.jwt is the name moto's create_jwt signs through; only that module sees the shim.
    models.jwt = SimpleNamespace(encode=encode)  # type: ignore[assignment]
    public = key.as_dict(private=False)
    responses.CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps({"keys": [public]}).encode()
    return key.as_dict(private=True)


def write_private_jwk(jwk: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file was there before
    with os.fdopen(fd, "w") as out:
        json.dump(jwk, out)


# --- DynamoDB: transactions that journal the items they touch --------------------------------


class _Journal:
    """What a transaction found before it first touched each item and each table's stream."""

    def __init__(self) -> None:
        # (table, hash, range) -> (table, had a range bucket, the item's copy or None)
        self.items: dict[tuple[int, Any, Any], tuple[Any, Any, Any, bool, Any]] = {}
        # table -> (shard, its record list, its length)
        self.streams: dict[int, tuple[Any, list[Any], int]] = {}

    def remember(self, table: Any, hash_key: Any, range_key: Any) -> None:
        if not table.has_range_key:
            range_key = None
        elif range_key is None:
            return  # moto refuses the call: nothing will be written
        slot = (id(table), hash_key, range_key)
        if slot in self.items:
            return
        if range_key is None:
            had_bucket, item = True, table.items.get(hash_key)
        else:
            bucket = table.items.get(hash_key)  # .get: the defaultdict must not grow here
            had_bucket, item = bucket is not None, (bucket or {}).get(range_key)
        self.items[slot] = (table, hash_key, range_key, had_bucket, copy.deepcopy(item))
        shard = table.stream_shard
        if shard is not None and id(table) not in self.streams:
            self.streams[id(table)] = (shard, shard.items, len(shard.items))

    def restore(self) -> None:
        for table, hash_key, range_key, had_bucket, item in self.items.values():
            _restored(table, hash_key, range_key, had_bucket, item)
            _reindex(table, hash_key, range_key)
        for shard, records, length in self.streams.values():
            del records[length:]
            shard.items = records


def _restored(table: Any, hash_key: Any, range_key: Any, had_bucket: bool, item: Any) -> None:
    """Puts one journaled item back as it was (``item`` None: it was not there)."""
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if item is not None:
        table.items[hash_key][range_key] = item
        return
    bucket = table.items.get(hash_key)
    if bucket is not None:
        bucket.pop(range_key, None)
        if not bucket and not had_bucket:
            del table.items[hash_key]


def _journal() -> _Journal | None:
    return getattr(_ACTIVE, "journal", None)


def _remembers(key_of: Callable[..., tuple[Any, Any] | None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wraps a Table method so that, inside a transaction, the item it is about to read or
    write is journaled first."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def journaled(table: Any, *args: Any, **kwargs: Any) -> Any:
            journal = _journal()
            if journal is not None:
                key = key_of(table, *args, **kwargs)
                if key is not None:
                    journal.remember(table, *key)
            return method(table, *args, **kwargs)

        return journaled

    return wrap


def _key_args(_table: Any, hash_key: Any, range_key: Any = None, *_: Any, **__: Any) -> tuple[Any, Any]:
    return hash_key, range_key


def _key_of_attrs(table: Any, item_attrs: dict[str, Any], *_: Any, **__: Any) -> tuple[Any, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_key = DynamoType(item_attrs[table.hash_key_attr])
        range_key = DynamoType(item_attrs[table.range_key_attr]) if table.range_key_attr else None
    except Exception:  # noqa: BLE001 - moto rejects the same attributes before writing anything
        return None
    return hash_key, range_key


class _CopyWithoutTables:
    """moto.dynamodb.models' ``copy`` module: inside a journaled transaction, the "copy" of a
    table is the table itself, so moto's own backup costs nothing and its restore changes
    nothing; the journal restores the items instead."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table) and _journal() is not None:
            return value
        return copy.deepcopy(value, memo)


def journal_transactions() -> None:
    """Applies patch 2 (see the module docstring)."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(models, "copy", None) is not copy:
        raise RuntimeError("moto's DynamoDB no longer copies tables as this patch expects: review the patch")
    models.copy = _CopyWithoutTables  # type: ignore[assignment]
    Table.get_item = _remembers(_key_args)(Table.get_item)  # type: ignore[method-assign]
    Table.delete_item = _remembers(_key_args)(Table.delete_item)  # type: ignore[method-assign]
    Table.put_item = _remembers(_key_of_attrs)(Table.put_item)  # type: ignore[method-assign]

    transact = models.DynamoDBBackend.transact_write_items

    @functools.wraps(transact)
    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        journal = _Journal()
        _ACTIVE.journal = journal
        try:
            transact(backend, transact_items)
        except BaseException:
            # All or nothing: AWS applies no part of a transaction that fails, however it fails.
            journal.restore()
            raise
        finally:
            _ACTIVE.journal = None

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        handler.call_action = _one_at_a_time(handler.call_action)  # type: ignore[method-assign]


def _one_at_a_time(call_action: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call_action)
    def locked(self: Any) -> Any:
        with _DYNAMODB_LOCK:
            return call_action(self)

    return locked


# --- DynamoDB: expressions parsed once -------------------------------------------------------

EXPRESSIONS_KEPT = 1024


def parse_expressions_once() -> None:
    """Applies patch 7 (see the module docstring)."""
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import Validator

    if "deepcopy" not in Validator.__init__.__code__.co_names:
        raise RuntimeError("moto's validator no longer copies the syntax tree it is given: review patch 7")
    UpdateExpressionParser.make = staticmethod(  # type: ignore[method-assign]
        functools.lru_cache(maxsize=EXPRESSIONS_KEPT)(UpdateExpressionParser.make)
    )
    lex = ConditionExpressionParser._lex_condition_expression  # noqa: SLF001 (the method patched)

    @functools.lru_cache(maxsize=EXPRESSIONS_KEPT)
    def tokens_of(expression: str) -> tuple[Any, ...]:
        return tuple(lex(ConditionExpressionParser(expression, None, None)))

    def lexed(parser: Any) -> Any:
        # A fresh deque each time: the parser consumes it; the tokens themselves are immutable.
        return deque(tokens_of(parser.condition_expression))

    ConditionExpressionParser._lex_condition_expression = lexed  # type: ignore[method-assign]  # noqa: SLF001
    _parse_conditions_once()


def _parse_conditions_once() -> None:
    """Patch 7, conditions: a condition's syntax tree, kept by its text, names and values
    (what it is built from), with the names and values it was found to use; the tree is
    only read when it is tested on an item. Every caller of moto's parser gets it: queries,
    filters, puts, updates, deletes, and the transaction's check before it starts."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    parse = ConditionExpressionParser.parse

    @functools.lru_cache(maxsize=EXPRESSIONS_KEPT)
    def parsed(expression: str, names: tuple[Any, ...] | None, values: str | None) -> tuple[Any, list[str], list[str]]:
        parser = ConditionExpressionParser(
            expression, None if names is None else dict(names), None if values is None else json.loads(values)
        )
        return parse(parser), parser.expr_attr_names_found, parser.expr_attr_values_found

    def parse_once(parser: Any) -> Any:
        values = parser.expression_attribute_values
        try:
            encoded = None if values is None else json.dumps(values, sort_keys=True)
        except TypeError:  # a binary value (bytes): parsed afresh
            return parse(parser)
        names = parser.expression_attribute_names
        tree, names_found, values_found = parsed(
            parser.condition_expression, None if names is None else tuple(sorted(names.items())), encoded
        )
        parser.expr_attr_names_found.extend(names_found)
        parser.expr_attr_values_found.extend(values_found)
        return tree

    ConditionExpressionParser.parse = parse_once  # type: ignore[method-assign]


# --- DynamoDB: an update expression's own checks made once (patch 12) ------------------------

# moto's UpdateExpressionValidator passes, in its order; the first three read only the
# expression, its names and the table's key attributes.
UPDATE_PASSES = (
    "ActionCountValidator",
    "OverlappingPathsValidator",
    "UpdateHashRangeKeyValidator",
    "ExpressionAttributeValueProcessor",
    "ExpressionAttributeResolvingProcessor",
    "UpdateExpressionFunctionEvaluator",
    "NoneExistingPathChecker",
    "ExecuteOperations",
    "TypeMismatchValidator",
    "EmptyStringKeyValueValidator",
)
STATIC_UPDATE_PASSES = 3
# What a syntax tree's leaves hold, shared by its copies as deepcopy shares them.
ATOMS = (str, int, float, bool, type(None))


def check_updates_once() -> None:
    """Applies patch 12 (see the module docstring)."""
    import weakref

    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    if getattr(validators, "deepcopy", None) is not copy.deepcopy:
        raise RuntimeError("moto's validators no longer copy with copy.deepcopy: review patch 12")

    def tree_copy(node: Any) -> Any:
        """What deepcopy makes of a syntax tree (its nodes hold only type, children and
        parent), without deepcopy's generic walk."""
        twin = object.__new__(type(node))
        twin.__dict__.update(node.__dict__)
        twin.parent = None
        if node.children is not None:
            twin.children = [child_copy(child, twin) for child in node.children]
        return twin

    def child_copy(child: Any, parent: Any) -> Any:
        if isinstance(child, Node):
            twin = tree_copy(child)
            twin.parent = parent
            return twin
        return child if isinstance(child, ATOMS) else copy.deepcopy(child)

    def copy_of(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return tree_copy(value) if isinstance(value, Node) and value.parent is None else copy.deepcopy(value, memo)

    # expression tree (patch 7 keeps one per text) -> (names, key attributes) it passed with
    passed: weakref.WeakKeyDictionary[Any, set[tuple[Any, ...]]] = weakref.WeakKeyDictionary()
    shipped_init = UpdateExpressionValidator.__init__

    def init(validator: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        shipped_init(validator, expression, *args, **kwargs)
        names = tuple(type(p).__name__ for p in validator.processors)
        if names != UPDATE_PASSES:
            raise RuntimeError(f"moto's update validator runs {names}: review patch 12")
        validator.checked_tree = expression

    def validate(validator: Any) -> Any:
        names = validator.expression_attribute_names or {}
        key = (tuple(sorted(names.items())), tuple(validator.table.table_key_attrs))
        seen = passed.setdefault(validator.checked_tree, set())
        node = validator.node_to_validate
        for index, processor in enumerate(validator.processors):
            if index < STATIC_UPDATE_PASSES and key in seen:
                continue
            node = processor.traverse(node)
            if index == STATIC_UPDATE_PASSES - 1:
                seen.add(key)
        return node

    for traverser_class in DepthFirstTraverser.__subclasses__():
        if {"traverse_node_recursively", "nodes_to_be_processed", "process"} & set(vars(traverser_class)):
            raise RuntimeError(f"{traverser_class.__name__} now walks the tree its own way: review patch 12")
    # Whether a class is a syntax tree node; which key of a traverser class's processing map
    # (the first, in its order) a node class falls under: isinstance answers, once per class.
    is_node: dict[type, bool] = {}
    handled_as: dict[tuple[type, type], type | None] = {}

    def processing_map(traverser: Any) -> dict[type, Callable[..., Any]]:
        cached = traverser.__dict__.get("_map_once")
        if cached is None:
            cached = traverser.__dict__["_map_once"] = traverser._processing_map()  # noqa: SLF001
        return cached

    def key_of(traverser: Any, node_type: type) -> type | None:
        pair = (type(traverser), node_type)
        if pair not in handled_as:
            handled_as[pair] = next((key for key in processing_map(traverser) if issubclass(node_type, key)), None)
        return handled_as[pair]

    def traverse_node_recursively(traverser: Any, node: Any, child_id: int = -1) -> Any:
        """moto's depth-first walk, step for step."""
        node_type = type(node)
        if node_type not in is_node:
            is_node[node_type] = issubclass(node_type, Node)
        if not is_node[node_type]:
            return node
        parent_node = node.parent
        if node.children is not None:
            for index, child in enumerate(node.children):
                traverser.pre_processing_of_child(node, index)
                traverse_node_recursively(traverser, child, index)
        key = key_of(traverser, node_type)
        if key is not None:
            node = processing_map(traverser)[key](node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    validators.deepcopy = copy_of  # type: ignore[attr-defined]
    UpdateExpressionValidator.__init__ = init  # type: ignore[method-assign]
    UpdateExpressionValidator.validate = validate  # type: ignore[method-assign]
    DepthFirstTraverser.traverse_node_recursively = traverse_node_recursively  # type: ignore[method-assign]


# --- serving ------------------------------------------------------------------------------


# Patch 8: on a moto Table, index name -> its _Partitions.
_PARTITIONS = "_chowline_partitions"


class _Partitions:
    """One index's items by the value(s) of its partition key attribute(s)."""

    def __init__(self, table: Any, attributes: tuple[str, ...]) -> None:
        self.attributes = attributes
        self.buckets: dict[tuple[Any, ...], dict[tuple[Any, Any], Any]] = {}
        self.placed: dict[tuple[Any, Any], tuple[Any, ...]] = {}  # item key -> its bucket
        for item in table.all_items():
            self.place((item.hash_key, item.range_key), item)

    def place(self, key: tuple[Any, Any], item: Any) -> None:
        """Files the item stored at ``key`` (None: there is none) under its values now."""
        was = self.placed.pop(key, None)
        if was is not None:
            bucket = self.buckets[was]
            del bucket[key]
            if not bucket:
                del self.buckets[was]
        values = tuple(item.attrs.get(name) for name in self.attributes) if item is not None else (None,)
        if any(value is None for value in values):
            return  # not in the index: a Query of it never matches the item
        try:
            self.buckets.setdefault(values, {})[key] = item
        except TypeError:  # a list or map where the key is: never equal to a key value
            return
        self.placed[key] = values


def _stored(table: Any, hash_key: Any, range_key: Any) -> Any:
    bucket = table.items.get(hash_key)  # .get: the defaultdict must not grow here
    if not table.range_key_attr:
        return bucket
    return (bucket or {}).get(range_key)


def _reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    """After a write of the item at (hash_key, range_key): every index of it built so far
    files it anew."""
    partitions = table.__dict__.get(_PARTITIONS)
    if partitions:
        range_key = range_key if table.range_key_attr else None
        item = _stored(table, hash_key, range_key)
        for index in partitions.values():
            index.place((hash_key, range_key), item)


def _candidates(table: Any, hash_key: Any, index_name: str | None, hash_conditions: Any) -> list[Any] | None:
    """The items a Query can match, in the order of moto's all_items; None: it cannot say."""
    if index_name is None:
        if hash_key is None:
            return None
        found = table.items.get(hash_key)  # the partition: its items by sort key, or the one item
        items = [] if found is None else (list(found.values()) if table.range_key_attr else [found])
    else:
        index = next((i for i in table.all_indexes() if i.name == index_name), None)
        if index is None:
            return None  # moto names the indexes there are
        attributes = tuple(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
        asked = dict(hash_conditions or [])
        if not attributes or set(asked) != set(attributes):
            return None
        built = table.__dict__.setdefault(_PARTITIONS, {})
        if index_name not in built or built[index_name].attributes != attributes:
            built[index_name] = _Partitions(table, attributes)
        try:
            items = list(built[index_name].buckets.get(tuple(asked[a] for a in attributes), {}).values())
        except TypeError:
            return None
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def query_partitions_only() -> None:
    """Applies patch 8 (see the module docstring)."""
    import inspect

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    query, put_item, delete_item = Table.query, Table.put_item, Table.delete_item
    signature = inspect.signature(query)
    if not {"hash_key", "index_name", "hash_key_conditions"} <= set(signature.parameters):
        raise RuntimeError("moto's Table.query no longer takes the arguments patch 8 reads: review the patch")

    @functools.wraps(query)
    def narrowed(table: Any, *args: Any, **kwargs: Any) -> Any:
        asked = signature.bind(table, *args, **kwargs).arguments
        items = _candidates(table, asked.get("hash_key"), asked.get("index_name"), asked.get("hash_key_conditions"))
        if items is None:
            return query(table, *args, **kwargs)
        table.all_items = lambda: items  # only for this call: DynamoDB is served one call at a time
        try:
            return query(table, *args, **kwargs)
        finally:
            del table.all_items

    @functools.wraps(put_item)
    def put(table: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(table, *args, **kwargs)
        _reindex(table, item.hash_key, item.range_key)
        return item

    @functools.wraps(delete_item)
    def delete(table: Any, hash_key: Any, range_key: Any = None, *args: Any, **kwargs: Any) -> Any:
        try:
            return delete_item(table, hash_key, range_key, *args, **kwargs)
        finally:
            _reindex(table, hash_key, range_key)

    update_item = models.DynamoDBBackend.update_item

    @functools.wraps(update_item)
    def update(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return update_item(backend, table_name, key, *args, **kwargs)
        finally:  # the item changes in place, and may have changed before a failure
            try:
                table = backend.get_table(table_name)  # by name or ARN
            except Exception:  # noqa: BLE001 - no such table: moto has answered so
                table = None
            if table is not None and table.__dict__.get(_PARTITIONS):
                try:
                    hash_key = DynamoType(key[table.hash_key_attr])
                    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                except (KeyError, TypeError, AttributeError):
                    table.__dict__.pop(_PARTITIONS)  # a key moto refused: build again on the next Query
                else:
                    _reindex(table, hash_key, range_key)

    Table.query = narrowed  # type: ignore[method-assign]
    Table.put_item = put  # type: ignore[method-assign]
    Table.delete_item = delete  # type: ignore[method-assign]
    models.DynamoDBBackend.update_item = update  # type: ignore[method-assign]


def cache_service_list() -> None:
    """moto lists its own package directory (a stat per service, some 200) twice per request
    to route it; the list cannot change while the server runs."""
    from moto import backends

    services = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: services  # type: ignore[assignment]


def size_items_once() -> None:
    """Applies patch 5 (see the module docstring)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    limited = dynamo_type.LimitedSizeDict
    builds = dynamo_type.Item.__init__.__code__.co_names
    if builds != ("hash_key", "range_key", "LimitedSizeDict", "attrs", "items", "DynamoType") or (
        405000 not in limited.__setitem__.__code__.co_consts
    ):
        raise RuntimeError("moto's Item no longer builds and sizes its attributes as this patch expects: review it")

    def item_init(item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        item.hash_key = hash_key
        item.range_key = range_key
        values = {key: dynamo_type.DynamoType(value) for key, value in attrs.items()}
        # moto's limit (DynamoDB's 400 KB, as moto measured it), as LimitedSizeDict checks it.
        if sum(bytesize(key) + value.size() for key, value in values.items()) > 405000:
            raise ItemSizeTooLarge
        item.attrs = limited.__new__(limited)
        dict.update(item.attrs, values)

    dynamo_type.Item.__init__ = item_init  # type: ignore[method-assign]


def cache_action_names() -> None:
    """moto lists a handler class's methods (inspect.getmembers) on every request to find
    the action, and spells names in snake case character by character (an SQS queue's
    attributes, some twenty, on every receive): a class's methods do not change while the
    server runs, and a name's spelling never does."""
    from moto.core import responses, utils
    from moto.sns import models as sns_models
    from moto.sns import responses as sns_responses
    from moto.sqs import models as sqs_models

    responses.method_names_from_class = functools.cache(responses.method_names_from_class)  # type: ignore[assignment]
    snake_case = functools.lru_cache(maxsize=4096)(utils.camelcase_to_underscores)
    for module in (responses, sqs_models, sns_models, sns_responses):
        module.camelcase_to_underscores = snake_case  # type: ignore[attr-defined]


# --- serving: DynamoDB's answers as JSON, without moto's walk of the output shape ----------

# The actions whose answers are items, keys and stream records: plain data in DynamoDB's
# wire format (moto's DynamoResult has already turned its attribute values into dicts).
PLAIN_ANSWERS = {
    "dynamodb": frozenset(
        {
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "Scan",
            "BatchGetItem",
            "BatchWriteItem",
            "TransactGetItems",
            "TransactWriteItems",
        }
    ),
    "dynamodbstreams": frozenset({"GetRecords", "GetShardIterator"}),
}


class _NotPlain(Exception):
    """A value the direct rendering does not know: moto's serializer renders the answer."""


def _wire(value: Any) -> Any:
    """``value`` as moto's JSON serializer writes it, for plain data: members that are None
    are left out, timestamps are epoch seconds (to the millisecond), bytes are base64."""
    if isinstance(value, dict):
        return {key: _wire(member) for key, member in value.items() if member is not None}
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_wire(member) for member in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        whole = calendar.timegm(value.utctimetuple())
        return whole + (value.microsecond // 1000) / 1000.0 if value.microsecond else whole
    if isinstance(value, Enum):
        return _wire(value.value)
    raise _NotPlain(type(value).__name__)


def render_plain_answers() -> None:
    """Applies patch 4 (see the module docstring)."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    # Both speak JSON 1.0 (their service models' jsonVersion), as moto's serializer says.
    for handler, service in ((DynamoHandler, "dynamodb"), (DynamoDBStreamsHandler, "dynamodbstreams")):
        handler.serialized = _rendered_directly(handler.serialized, PLAIN_ANSWERS[service])  # type: ignore[method-assign]


def _rendered_directly(serialized: Callable[..., Any], actions: frozenset[str]) -> Callable[..., Any]:
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    @functools.wraps(serialized)
    def render(self: Any, action_result: Any) -> Any:
        result = action_result.result
        if type(action_result) in (ActionResult, DynamoResult) and not isinstance(result, Exception):
            if self._get_action() in actions:
                try:
                    body = json.dumps(_wire(result), separators=(",", ":"))
                except _NotPlain:
                    return serialized(self, action_result)
                headers = {"Content-Type": "application/x-amz-json-1.0"}
                headers.update(self.response_headers)
                return 200, headers, body
        return serialized(self, action_result)

    return render


# Patch 11: a binary attribute value's members in a request body, as botocore writes them.
_BINARY_MEMBER = re.compile(rb'"BS?"\s*:')


def read_plain_requests() -> None:
    """Applies patch 11 (see the module docstring)."""
    from moto.core.responses import get_service_model
    from moto.dynamodb.responses import DynamoHandler

    plain = _plain_operations(get_service_model("dynamodb"))
    parse_parameters = DynamoHandler.parse_parameters

    def read(self: Any, request: Any) -> None:
        body = request.data
        if body and self._get_action() in plain and not _BINARY_MEMBER.search(body):
            try:
                self.params = json.loads(body)
                return
            except ValueError:
                pass  # moto's parser answers a body that is no JSON as it always has
        parse_parameters(self, request)

    DynamoHandler.parse_parameters = read  # type: ignore[method-assign]


def _plain_operations(model: Any) -> frozenset[str]:
    """The operations whose input moto's parser changes only in binary attribute values
    (base64 to bytes) and in members it drops (none, a null): no timestamp, no other blob."""

    def converted(shape: Any, member: str, seen: frozenset[str]) -> bool:
        if shape.type_name == "timestamp" or (shape.type_name == "blob" and member not in ("B", "BS")):
            return True
        if shape.name in seen:
            return False
        seen |= {shape.name}
        if shape.type_name == "structure":
            return any(converted(m, name, seen) for name, m in shape.members.items())
        if shape.type_name == "list":
            return converted(shape.member, member, seen)
        if shape.type_name == "map":
            return converted(shape.value, member, seen)
        return False

    return frozenset(
        name
        for name in model.operation_names
        if (shape := model.operation_model(name).input_shape) is not None and not converted(shape, "", frozenset())
    )


def freeze_after_full_collections() -> None:
    """Applies patch 9 (see the module docstring)."""
    import gc

    def freeze(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    gc.callbacks.append(freeze)


# --- Serving: request headers split at their colon (patch 13) ------------------------------

# A header line as the e-mail parser reads it with nothing of mail's own: a name of printable
# characters other than a colon, the colon, a value without a line break of its own.
_PLAIN_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r?\n")


def read_headers_plainly() -> None:
    """Applies patch 13 (see the module docstring)."""
    import email.parser
    import http.client

    read_lines = http.client._read_headers  # noqa: SLF001 (the standard library's own reader, as its parse uses it)
    if http.client.parse_headers.__code__.co_names != (
        "_read_headers",
        "join",
        "decode",
        "email",
        "parser",
        "Parser",
        "parsestr",
    ):
        raise RuntimeError("http.client no longer parses headers as patch 13 expects: review it")

    def parse_headers(fp: Any, _class: type = http.client.HTTPMessage) -> Any:
        *fields, end = read_lines(fp)
        if end in (b"\r\n", b"\n") and all(_PLAIN_HEADER_LINE.fullmatch(line) for line in fields):
            message = _class()
            for line in fields:
                name, value = line.decode("iso-8859-1").split(":", 1)
                # What the parser's compat32 policy keeps of a one-line header.
                message.set_raw(name, value.lstrip(" \t").rstrip("\r\n"))
            message.set_payload("")
            return message
        return email.parser.Parser(_class=_class).parsestr(b"".join([*fields, end]).decode("iso-8859-1"))

    http.client.parse_headers = parse_headers  # type: ignore[assignment]


# --- moto's clock, SQS receives and sends (patches 14 to 16) ---------------------------------


def read_the_clock_directly() -> None:
    """Applies patch 14 (see the module docstring): in moto.core.utils and in every moto
    module that imported its clock by name (later imports find the patched one there)."""
    import time

    from moto.core import utils

    unix_time, unix_time_millis = utils.unix_time, utils.unix_time_millis
    if unix_time.__code__.co_names != ("utcnow", "utcfromtimestamp", "days", "seconds", "microseconds"):
        raise RuntimeError("moto's unix_time no longer subtracts the epoch from utcnow: review patch 14")

    def now(dt: datetime | None = None) -> float:
        return time.time() if dt is None else unix_time(dt)

    def now_millis(dt: datetime | None = None) -> float:
        return now(dt) * 1000.0

    for module in [m for name, m in list(sys.modules.items()) if name.startswith("moto") and m is not None]:
        if getattr(module, "unix_time", None) is unix_time:
            module.unix_time = now  # type: ignore[attr-defined]
        if getattr(module, "unix_time_millis", None) is unix_time_millis:
            module.unix_time_millis = now_millis  # type: ignore[attr-defined]


def retain_by_the_period() -> None:
    """Applies patch 15 (see the module docstring)."""
    from moto.sqs import models

    backend = models.SQSBackend
    if backend.is_message_valid_based_on_retention_period.__code__.co_names != (
        "get_queue_attributes",
        "sent_timestamp",
        "unix_time",
    ):
        raise RuntimeError("moto's SQS no longer checks retention as patch 15 expects: review it")

    def retained(sqs: Any, queue_name: str, message: Any) -> bool:
        period = sqs.get_queue(queue_name).message_retention_period
        return period + message.sent_timestamp / 1000 > models.unix_time()

    backend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign]


# The queue a send on this thread is adding to (patch 16).
_SENDING = threading.local()


def send_without_counting() -> None:
    """Applies patch 16 (see the module docstring)."""
    from moto.sqs import models

    queue_class = models.Queue
    names = {*queue_class.BASE_ATTRIBUTES, *queue_class.FIFO_ATTRIBUTES, *queue_class.KMS_ATTRIBUTES}
    readers = (models.SQSBackend._validate_message, models.SQSBackend.send_message, queue_class.add_message)  # noqa: SLF001
    if any(set(reader.__code__.co_consts) & names != {"ContentBasedDeduplication"} for reader in readers):
        raise RuntimeError("moto's SQS send reads other queue attributes than patch 16 expects: review it")
    all_attributes = queue_class.attributes.fget
    send = models.SQSBackend.send_message

    def attributes(queue: Any) -> dict[str, Any]:
        if getattr(_SENDING, "queue", None) is not queue:
            return all_attributes(queue)
        if not queue.fifo_queue:
            return {}
        value = queue.content_based_deduplication  # spelled as moto's property spells a flag
        return {"ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value}

    def send_message(sqs: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        _SENDING.queue = sqs.get_queue(queue_name)
        try:
            return send(sqs, queue_name, *args, **kwargs)
        finally:
            _SENDING.queue = None

    queue_class.attributes = property(attributes)  # type: ignore[method-assign,assignment]
    models.SQSBackend.send_message = send_message  # type: ignore[method-assign]


# --- Serving: the handler without Flask (patch 10) -------------------------------------------

DIRECT_BACKENDS = frozenset({"dynamodb", "dynamodbstreams", "sqs", "sns", "cognitoidp"})


class DirectDispatch:
    """Patch 10: a WSGI application in front of moto's DomainDispatcherApplication."""

    def __init__(self, dispatcher: Any) -> None:
        self._dispatcher = dispatcher
        self._handlers: dict[tuple[str, ...], Callable[..., Any] | None] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        handler = self._handler(environ)
        if handler is None:
            return self._dispatcher(environ, start_response)
        return _answered_by(handler, environ)(environ, start_response)

    def _handler(self, environ: dict[str, Any]) -> Callable[..., Any] | None:
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if environ.get("REQUEST_METHOD") != "POST" or "HTTP_ORIGIN" in environ or "Credential=" not in authorization:
            return None
        # What moto routes by: the path, the target header, the signing service of the scope.
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        key = (environ.get("PATH_INFO", ""), environ.get("HTTP_X_AMZ_TARGET", "").split(".", 1)[0], *scope[3:4])
        if key not in self._handlers:
            with self._lock:
                self._handlers[key] = self._found(environ)
        return self._handlers[key]

    def _found(self, environ: dict[str, Any]) -> Callable[..., Any] | None:
        from werkzeug.exceptions import HTTPException

        app = self._dispatcher.get_application(environ)
        if getattr(app, "service", None) not in DIRECT_BACKENDS:
            return None
        try:
            endpoint, arguments = app.url_map.bind_to_environ(environ).match()
        except HTTPException:
            return None
        view = app.view_functions.get(endpoint)
        return None if arguments else getattr(view, "callback", None)


def _answered_by(handler: Callable[..., Any], environ: dict[str, Any]) -> Any:
    """The handler's answer as moto's Flask view gives it (moto.core.utils.convert_to_flask_response)."""
    from botocore.exceptions import ClientError
    from flask import Response
    from moto.moto_api import recorder
    from moto.moto_server.werkzeug_app import DISABLE_GLOBAL_CORS, BackendRequest

    request = BackendRequest(environ)
    try:
        recorder._record_request(request)  # noqa: SLF001 (as moto's view records it)
        result = handler(request, request.raw_url, dict(request.headers))
    except ClientError as exc:
        result = 400, {}, exc.response["Error"]["Message"]
    status, headers, content = result if len(result) == 3 else (200, {}, result)
    response = Response(response=content, status=status, headers=headers)
    if not DISABLE_GLOBAL_CORS:  # what flask_cors adds to a request without an Origin
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def make_server(host: str, port: int) -> Any:
    """moto's WSGI application on werkzeug's threaded server, as moto.server serves it, with
    HTTP/1.1 keep-alive (patch 6), signed calls handed to their handler directly (patch 10)
    and without the access log line per request."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server as werkzeug_server

    app = DirectDispatch(DomainDispatcherApplication(create_backend_app))
    return werkzeug_server(host, port, app, threaded=True, request_handler=_keep_alive_handler())


def _keep_alive_handler() -> type:
    """Patch 6: werkzeug's development server answers every request with ``Connection:
    close`` (it cannot tell where a request's body ends), so each AWS call paid a new TCP
    connection on both sides, a new server thread, and a 10 ms drain of the socket. This
    handler reads each request's body whole (by Content-Length, or as werkzeug dechunks it), answers
    with a Content-Length in one write, and keeps the connection for the client's next call.
    The environ is moto's own (MotoRequestHandler.make_environ)."""
    import io

    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.environ = environ = self.make_environ()
            # Read whole before the app runs, so that the next request starts where this
            # one ends; werkzeug's environ already undoes a chunked encoding.
            if environ.pop("wsgi.input_terminated", False):
                body = environ["wsgi.input"].read()
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            self._send(*self._answer(environ))

        def _answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
            answer: list[Any] = []
            chunks: list[bytes] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answer[:] = [status, headers]
                return chunks.append

            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
            except Exception:  # as werkzeug does: the client gets a 500, the server goes on
                log.exception("the emulator failed to answer %s %s", self.command, self.path)
                return "500 Internal Server Error", [], b"Internal Server Error"
            return answer[0], answer[1], b"".join(chunks)

        def _send(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
            lines = [f"{self.protocol_version} {status}", f"Date: {self.date_time_string()}"]
            lines += [f"{k}: {v}" for k, v in headers if k.lower() != "connection"]
            if not any(k.lower() == "content-length" for k, _ in headers) and status[:3] not in ("204", "304"):
                lines.append(f"Content-Length: {len(payload)}")
            if self.close_connection:
                lines.append("Connection: close")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(head if self.command == "HEAD" else head + payload)
            self.wfile.flush()

    return KeepAliveHandler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--signing-key-file", type=Path, help="where to write this run's private signing JWK")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto.server does: some URLs it builds use it

    private_jwk = use_run_signing_key()
    if args.signing_key_file:
        write_private_jwk(private_jwk, args.signing_key_file)
    journal_transactions()
    cache_service_list()
    cache_action_names()
    render_plain_answers()
    read_plain_requests()
    size_items_once()
    parse_expressions_once()
    check_updates_once()
    query_partitions_only()
    freeze_after_full_collections()
    read_headers_plainly()
    read_the_clock_directly()
    retain_by_the_period()
    send_without_counting()
    server = make_server(args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Real answers of a fresh ordersd against its OpenAPI description.

    openapi_conformance.py --binary build/ordersd --description api/openapi.yaml

Starts `ordersd serve` on a fresh data directory (loopback, running open),
then walks the description as an OpenAPI-driven tester would: every
operation in the order of its paths, each request built from the
description's own examples (path, query and header parameters that have an
`example`, the first request body example). Each answer's status must be one
the operation lists, its body must validate against that status's schema
(problem+json against Problem) with a real JSON Schema validator (draft
2020-12, as OpenAPI 3.1 uses), and every header the answer documents as
required must be there and match its schema, while no API header appears
that the answer does not document. The examples tell a story (deposit,
restock, pause payment, place, cancel, ...), so the walk also checks the
status each step of that story must get.

Then: the rest of the story (an order that ships and is delivered),
idempotent replays, documented error cases (bad ids, missing or unknown
bodies, bad parameters, If-Match), every example in the description against
its own schema, and a second server with --tokens for the 401 and 403
answers and the 404s of a token bound to another customer. Uses Debian's python3 with python3-yaml and python3-jsonschema.
"""
import argparse
import http.client
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

import jsonschema

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Headers the API defines: one that an answer carries must be documented for it.
API_HEADERS = ("etag", "location", "x-position", "retry-after", "idempotent-replayed", "www-authenticate", "allow")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehaviorSanitizer",
                     "runtime error: ")

# The status each operation of the story gets on a fresh server, walked in
# the description's order (the paths' order is the story's).
STORY = {
    "getRouteIndex": 200, "getOrderTimeline": 200, "streamEvents": 200, "getLiveness": 200, "getReadiness": 200, "getHealth": 200, "getOpenApi": 200,
    "getCaller": 200, "getConsole": 308, "getConsoleAsset": 200,  # /ui without its slash: to /ui/
    "depositFunds": 200, "restockSku": 200, "listParticipants": 200, "pauseParticipant": 200,
    "placeOrder": 201, "listOrders": 200, "getOrder": 200,
    "cancelOrder": 202,    # payment is paused: the order is still placed
    "deliverOrder": 409,   # ... and now cancelling
    "getOrderEvents": 200, "getOrderState": 200, "getWallet": 200, "getCustomer": 200, "getStock": 200,
    "listEvents": 200, "listStuckSagas": 200, "getSaga": 200,
    "retrySaga": 202,      # its refund timed out with payment paused: stuck
    "resumeParticipant": 200, "listViews": 200, "rebuildView": 202, "listComponents": 200,
    "retryComponent": 409, "skipEvent": 409,  # nothing has failed
    "listAuditEntries": 200, "getStats": 200, "getMetrics": 200,
}


def load_description(path):
    """Reads the YAML as the build does (api/openapi_to_cpp.py)."""
    converter = os.path.join(os.path.dirname(os.path.abspath(path)), "openapi_to_cpp.py")
    spec = importlib.util.spec_from_file_location("openapi_to_cpp", converter)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load(path)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def json(self):
        return json.loads(self.body)


class Server:
    """`ordersd serve` on a fresh data directory and an ephemeral loopback port."""

    def __init__(self, binary, directory, extra=()):
        self.stderr_path = os.path.join(directory, "stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [binary, "serve", "--data", os.path.join(directory, "data"), "--listen", "127.0.0.1:0", *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
        line = self.process.stdout.readline().decode()
        match = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            self.process.kill()
            self.process.wait()
            sys.exit(f"the server did not start: {line!r}\n{self.log()}")
        self.port = int(match.group(1))

    def log(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def request(self, method, target, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, target, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def stop(self):
        """SIGTERM; the server must exit 0 and its stderr hold no sanitizer report."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return "the server did not stop within 30 s of SIGTERM"
        self.stderr.close()
        text = self.log()
        if any(marker in text for marker in SANITIZER_MARKERS):
            return "the server's stderr holds a sanitizer report:\n" + text
        if code != 0:
            return f"the server exited {code}:\n{text[-4000:]}"
        return None


class Checker:
    def __init__(self, document):
        self.document = document
        self.resolver = jsonschema.RefResolver.from_schema(document)
        self.failures = []
        self.checks = 0
        self.called = set()  # operationIds
        self.operations = {}  # operationId -> (method, path, operation)
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if method in METHODS:
                    self.operations[operation["operationId"]] = (method.upper(), path, operation)

    def fail(self, what):
        self.failures.append(what)
        print("FAIL:", what, file=sys.stderr)

    def resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            assert ref.startswith("#/"), ref
            obj = self.document
            for part in ref[2:].split("/"):
                obj = obj[part.replace("~1", "/").replace("~0", "~")]
        return obj

    def schema_errors(self, schema, value):
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(value)]

    def validate(self, where, schema, value):
        self.checks += 1
        errors = self.schema_errors(schema, value)
        if errors:
            self.fail(f"{where}: {json.dumps(value)[:600]} does not validate: " + "; ".join(errors[:5]))

    # -- requests built from the description

    @staticmethod
    def example_of(obj):
        if "example" in obj:
            return True, obj["example"]
        if obj.get("examples"):
            first = next(iter(obj["examples"].values()))
            return True, first["value"]
        return False, None

    def request_parts(self, operation_id, path_values=None, body_example=None):
        """The target, headers and body of an operation, from its examples."""
        method, path, operation = self.operations[operation_id]
        query, headers = [], {}
        path_values = dict(path_values or {})
        for p in operation.get("parameters", []):
            p = self.resolve(p)
            has, value = self.example_of(p)
            if p["in"] == "path":
                path_values.setdefault(p["name"], value)
            elif has and p["in"] == "query":
                query.append((p["name"], str(value)))
            elif has and p["in"] == "header":
                headers[p["name"]] = str(value)
        target = re.sub(r"\{([^}]+)\}", lambda m: urllib.parse.quote(str(path_values[m.group(1)]), safe=""), path)
        if query:
            target += "?" + urllib.parse.urlencode(query)
        body = None
        request_body = self.resolve(operation.get("requestBody", {}))
        media = request_body.get("content", {}).get("application/json")
        if media is not None:
            if body_example is not None:
                body = media["examples"][body_example]["value"]
            else:
                has, body = self.example_of(media)
                if not has:
                    body = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        return method, target, headers, body

    # -- answers against the description

    def check_answer(self, operation_id, answer, expect=None, what=""):
        method, path, operation = self.operations[operation_id]
        self.called.add(operation_id)
        where = f"{method} {path}{what} -> {answer.status}"
        self.checks += 1
        if expect is not None and answer.status != expect:
            self.fail(f"{where}: expected {expect}: {answer.body[:400]!r}")
        response = operation["responses"].get(str(answer.status))
        if response is None:
            self.fail(f"{where}: status not in the description: {answer.body[:400]!r}")
            return
        response = self.resolve(response)
        content = response.get("content", {})
        media_type = answer.headers.get("content-type", "").split(";")[0].strip().lower()
        if content:
            if media_type not in content:
                self.fail(f"{where}: Content-Type {media_type!r}, the description has {list(content)}")
            else:
                schema = content[media_type].get("schema", {})
                if media_type.endswith("json"):
                    try:
                        body = answer.json()
                    except ValueError as e:
                        self.fail(f"{where}: the body is not JSON: {e}")
                        return
                else:
                    body = answer.body.decode()
                self.validate(where, schema, body)
        documented = {name.lower(): self.resolve(h) for name, h in response.get("headers", {}).items()}
        for name, header in documented.items():
            value = answer.headers.get(name)
            if value is None:
                if header.get("required"):
                    self.fail(f"{where}: no {name} header")
                continue
            self.validate(f"{where} header {name}", header["schema"], value)
        for name in API_HEADERS:
            if name in answer.headers and name not in documented:
                self.fail(f"{where}: a {name} header the description does not document")

    def call(self, server, operation_id, expect=None, path_values=None, body_example=None, what=""):
        method, target, headers, body = self.request_parts(operation_id, path_values, body_example)
        answer = server.request(method, target, body, headers)
        self.check_answer(operation_id, answer, expect, what or f" [{target}]")
        return answer

    def send(self, server, operation_id, target, body=None, headers=None, expect=None):
        """A request of one's own, checked against `operation_id`'s answers."""
        method = self.operations[operation_id][0]
        answer = server.request(method, target, body, headers)
        self.check_answer(operation_id, answer, expect, f" [{target}]")
        return answer

    # -- the description's own examples

    def check_examples(self):
        for operation_id, (method, path, operation) in self.operations.items():
            where = f"{method} {path}"
            for p in operation.get("parameters", []):
                p = self.resolve(p)
                has, value = self.example_of(p)
                if has:
                    self.validate(f"{where} parameter {p['name']} example", p["schema"], value)
                elif p["in"] == "path" or p.get("required"):
                    self.fail(f"{where}: parameter {p['name']} has no example to call it with")
            request_body = self.resolve(operation.get("requestBody", {}))
            for media_type, media in request_body.get("content", {}).items():
                examples = [("example", media["example"])] if "example" in media else []
                examples += [(name, e["value"]) for name, e in media.get("examples", {}).items()]
                if not examples:
                    self.fail(f"{where}: the request body has no example")
                for name, value in examples:
                    self.validate(f"{where} request example {name}", media["schema"], value)
            for status, response in operation["responses"].items():
                response = self.resolve(response)
                for media_type, media in response.get("content", {}).items():
                    examples = [("example", media["example"])] if "example" in media else []
                    examples += [(name, e["value"]) for name, e in media.get("examples", {}).items()]
                    if status.startswith("2") and not examples:
                        self.fail(f"{where} {status}: no example")
                    for name, value in examples:
                        self.validate(f"{where} {status} example {name}", media["schema"], value)


def eventually(what, condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"gave up waiting for {what}")
        time.sleep(0.05)


def walk(checker, server):
    """Every operation, in the description's order, called with its examples."""
    for operation_id, (method, path, operation) in checker.operations.items():
        if operation_id == "listStuckSagas":
            # The story's order o-1001: its charge, then its refund, time out
            # while payment is paused (--step-timeout 1000 --step-attempts 1).
            eventually("o-1001's saga to be stuck",
                       lambda: any(s["order_id"] == "o-1001"
                                   for s in server.request("GET", "/sagas?status=stuck").json()["sagas"]))
        checker.call(server, operation_id, expect=STORY.get(operation_id))
    missing = set(checker.operations) - set(STORY)
    if missing:
        checker.fail(f"operations the story does not expect a status of: {sorted(missing)}")


def rest_of_story(checker, server):
    """An order that ships and is delivered; views of what the story did."""
    state = lambda order: server.request("GET", f"/orders/{order}/state").json().get("status")
    eventually("o-1001 to be cancelled", lambda: state("o-1001") == "cancelled")
    # The second example, without the first one's Idempotency-Key and If-Match.
    body = checker.request_parts("placeOrder", body_example="o-1002")[3]
    placed = checker.send(server, "placeOrder", "/orders", body, {"Content-Type": "application/json"}, expect=201)
    position = placed.json()["position"]
    eventually("o-1002 to ship", lambda: state("o-1002") == "shipment_initiated")
    checker.send(server, "deliverOrder", "/orders/o-1002/deliver", expect=200)
    checker.send(server, "getOrder", f"/orders/o-1002?min_position={position}", expect=200)
    token = placed.headers.get("x-consistency-token")
    if token != "order-o-1002@1":
        checker.fail(f"placing o-1002 answered X-Consistency-Token {token!r}, not order-o-1002@1")
    checker.send(server, "getOrder", "/orders/o-1002", None, {"X-Consistency-Token": token}, expect=200)
    checker.send(server, "getOrder", "/orders/o-1001", expect=200)
    checker.send(server, "getSaga", "/sagas/o-1002", expect=200)
    checker.send(server, "getSaga", "/sagas/o-1001", expect=200)
    checker.send(server, "listOrders", "/orders?status=delivered&limit=1", expect=200)
    listed = checker.send(server, "listOrders", "/orders?limit=1", expect=200).json()
    if listed["next"]:
        checker.send(server, "listOrders", "/orders?limit=1&after=" + urllib.parse.quote(listed["next"]), expect=200)
    checker.send(server, "getCustomer", "/customers/c-42", expect=200)
    checker.send(server, "getStock", "/inventory/espresso-1kg", expect=200)
    checker.send(server, "getWallet", "/customers/c-42/wallet", expect=200)
    checker.send(server, "getOrderEvents", "/orders/o-1002/events", expect=200)
    checker.send(server, "getOrderState", "/orders/o-1002/state", expect=200)
    checker.send(server, "getStats", "/stats", expect=200)
    checker.send(server, "listViews", "/admin/views", expect=200)
    page = checker.send(server, "listAuditEntries", "/admin/audit?limit=1", expect=200).json()
    if page["next"]:
        checker.send(server, "listAuditEntries", "/admin/audit?limit=1&cursor=" + page["next"], expect=200)
    checker.send(server, "listEvents", "/events?from=3&limit=2", expect=200)


def replays(checker, server):
    """The same Idempotency-Key: the first answer again; with another body, 422."""
    key = {"Idempotency-Key": "conformance-deposit", "Content-Type": "application/json"}
    first = checker.send(server, "depositFunds", "/customers/c-42/deposits", '{"amount_cents":500}', key, expect=200)
    again = checker.send(server, "depositFunds", "/customers/c-42/deposits", '{"amount_cents":500}', key, expect=200)
    if again.headers.get("idempotent-replayed") != "true" or again.body != first.body:
        checker.fail("a deposit sent again with its Idempotency-Key is not replayed as it was first answered")
    checker.send(server, "depositFunds", "/customers/c-42/deposits", '{"amount_cents":501}', key, expect=422)
    refused = {"Idempotency-Key": "conformance-cancel"}
    checker.send(server, "cancelOrder", "/orders/o-9999/cancel", None, refused, expect=404)
    again = checker.send(server, "cancelOrder", "/orders/o-9999/cancel", None, refused, expect=404)
    if again.headers.get("idempotent-replayed") != "true":
        checker.fail("a refused cancel sent again with its Idempotency-Key is not replayed")
    checker.send(server, "placeOrder", "/orders", checker.request_parts("placeOrder")[3],
                 {"Content-Type": "application/json"}, expect=409)


def error_cases(checker, server):
    json_body = {"Content-Type": "application/json"}
    cases = [
        # (operation, target, body, headers, status)
        ("getOrder", "/orders/bad.id", None, None, 400),
        ("getOrder", "/orders/" + "x" * 65, None, None, 400),
        ("getOrder", "/orders/o-9999", None, None, 404),
        ("getOrder", "/orders/o-1001?min_position=999999&wait_ms=0", None, None, 503),
        ("getOrder", "/orders/o-1001?wait_ms=30001", None, None, 400),
        ("getOrder", "/orders/o-1001?wait_ms=0", None, {"X-Consistency-Token": "order-o-1001@999999"}, 503),
        ("getOrder", "/orders/o-1001", None, {"X-Consistency-Token": "order-o-1001@0"}, 400),
        ("getCustomer", "/customers/c-42", None, {"X-Consistency-Token": "wallet-c-42"}, 400),
        ("listOrders", "/orders?status=lost", None, None, 400),
        ("listOrders", "/orders?limit=0", None, None, 400),
        ("listOrders", "/orders?after=nope", None, None, 400),
        ("listOrders", "/orders?colour=red", None, None, 400),
        ("getOrderState", "/orders/o-1001/state?version=99", None, None, 404),
        ("getOrderState", "/orders/o-1001/state?version=0", None, None, 400),
        ("getOrderEvents", "/orders/o-9999/events", None, None, 404),
        ("getCustomer", "/customers/nobody", None, None, 404),
        ("getWallet", "/customers/nobody/wallet", None, None, 404),
        ("getWallet", "/customers/bad.id/wallet", None, None, 400),
        ("getStock", "/inventory/nothing", None, None, 404),
        ("getStats", "/stats?min_position=x", None, None, 400),
        ("listEvents", "/events?limit=0", None, None, 400),
        ("listEvents", "/events?from=-1", None, None, 400),
        ("listStuckSagas", "/sagas", None, None, 400),
        ("getSaga", "/sagas/o-9999", None, None, 404),
        ("retrySaga", "/sagas/o-1002/retry", None, None, 409),
        ("retrySaga", "/sagas/o-9999/retry", None, None, 404),
        ("retrySaga", "/sagas/o-1002/retry", '{"now":true}', json_body, 400),
        ("listAuditEntries", "/admin/audit?cursor=zz", None, None, 400),
        ("pauseParticipant", "/participants/nobody/pause", None, None, 404),
        ("resumeParticipant", "/participants/payment/resume", "[]", json_body, 400),
        ("rebuildView", "/admin/views/nope/rebuild", None, None, 404),
        ("rebuildView", "/admin/views/view-orders/rebuild", '{"x":1}', json_body, 400),
        ("retryComponent", "/admin/components/nope/retry", None, None, 404),
        ("retryComponent", "/admin/components/view-orders/retry", "x", {"Content-Type": "text/plain"}, 415),
        ("skipEvent", "/admin/components/view-orders/skip", None, None, 400),
        ("skipEvent", "/admin/components/view-orders/skip", '{"position":0}', json_body, 400),
        # Commands: a missing body, unknown fields, bad values, another media type, If-Match.
        ("placeOrder", "/orders", None, None, 400),
        ("placeOrder", "/orders", '{"customer_id":"c-42","items":[],"shipping_address":{"country":"NL"}}', json_body, 400),
        ("placeOrder", "/orders", '{"customer_id":"c-42","colour":"red"}', json_body, 400),
        ("placeOrder", "/orders", '{"a":1,"a":2}', json_body, 400),
        ("placeOrder", "/orders", "x", {"Content-Type": "text/plain"}, 415),
        ("placeOrder", "/orders", checker.request_parts("placeOrder", body_example="o-1002")[3].replace("o-1002", "o-1003"),
         {"Content-Type": "application/json", "If-Match": '"7"'}, 412),
        ("cancelOrder", "/orders/o-1001/cancel", '{"reason":1}', json_body, 400),
        ("cancelOrder", "/orders/o-1002/cancel", None, None, 409),
        ("cancelOrder", "/orders/o-1002/cancel", None, {"If-Match": '"1"'}, 412),
        ("cancelOrder", "/orders/o-1002/cancel", None, {"If-Match": "1"}, 400),
        ("cancelOrder", "/orders/bad.id/cancel", None, None, 400),
        ("deliverOrder", "/orders/o-9999/deliver", None, None, 404),
        ("deliverOrder", "/orders/o-1002/deliver", '{"when":"now"}', json_body, 400),
        ("depositFunds", "/customers/c-42/deposits", None, None, 400),
        ("depositFunds", "/customers/c-42/deposits", '{"amount_cents":0}', json_body, 400),
        ("depositFunds", "/customers/c-42/deposits", '{"amount_cents":1,"x":2}', json_body, 400),
        ("depositFunds", "/customers/c-42/deposits", '{"amount_cents":1}', {**json_body, "Idempotency-Key": ""}, 400),
        ("restockSku", "/inventory/bad.sku/restock", '{"quantity":1}', json_body, 400),
        ("restockSku", "/inventory/espresso-1kg/restock", '{"quantity":2.0}', json_body, 400),
        ("restockSku", "/inventory/espresso-1kg/restock", '{"quantity":1}', {**json_body, "If-Match": '"0"'}, 412),
        # The console: its page, its files, a file it does not have.
        ("getConsole", "/ui/", None, None, 200),
        ("getConsole", "/ui?from=1", None, None, 308),
        ("getConsoleAsset", "/ui/app.js", None, None, 200),
        ("getConsoleAsset", "/ui/index.html", None, None, 200),
        ("getConsoleAsset", "/ui/nope.js", None, None, 404),
    ]
    for operation_id, target, body, headers, status in cases:
        checker.send(server, operation_id, target, body, headers, expect=status)
    page = checker.send(server, "getConsoleAsset", "/ui/app.css", None, None, expect=200)
    checker.send(server, "getConsoleAsset", "/ui/app.css", None, {"If-None-Match": page.headers.get("etag", "")}, expect=304)


def access(checker, binary, directory):
    """With --tokens: 401 without a token, 403 with a token lacking the scope,
    404 for another customer's data with a token bound to a customer."""
    tokens = os.path.join(directory, "tokens.jsonl")
    made = subprocess.run([binary, "token", "create", "--file", tokens, "--name", "reader", "--scopes", "orders:read"],
                          capture_output=True, text=True, check=True)
    reader = made.stdout.splitlines()[0]
    made = subprocess.run([binary, "token", "create", "--file", tokens, "--name", "alice", "--scopes",
                           "orders:write,orders:read,wallets:write,wallets:read", "--customer", "alice"],
                          capture_output=True, text=True, check=True)
    alice = {"Authorization": "Bearer " + made.stdout.splitlines()[0]}
    server = Server(binary, directory, ["--tokens", tokens])
    try:
        for operation_id, (method, path, operation) in checker.operations.items():
            method, target, headers, body = checker.request_parts(operation_id)
            headers = {k: v for k, v in headers.items() if k == "Content-Type"}
            none = server.request(method, target, body, headers)
            if not operation["security"]:
                if none.status in (401, 403):
                    checker.fail(f"{method} {path} is open in the description but answered {none.status}")
                continue
            checker.check_answer(operation_id, none, 401, " [no token]")
            scopes = operation["security"][0]["bearerAuth"]
            if scopes and scopes != ["orders:read"]:  # no scope named: any valid credentials
                wrong = server.request(method, target, body, {**headers, "Authorization": "Bearer " + reader})
                checker.check_answer(operation_id, wrong, 403, " [orders:read only]")
                if f'scope="{scopes[0]}"' not in wrong.headers.get("www-authenticate", ""):
                    checker.fail(f"{method} {path}: the 403 does not name the scope {scopes[0]}")
        # A token bound to a customer: another customer's data is 404, as if it did not exist.
        json_body = {**alice, "Content-Type": "application/json"}
        order = checker.request_parts("placeOrder")[3].replace('"c-42"', '"bob"')
        for operation_id, target, body, headers in [
                ("placeOrder", "/orders", order, json_body),
                ("depositFunds", "/customers/bob/deposits", '{"amount_cents":1}', json_body),
                ("getWallet", "/customers/bob/wallet", None, alice),
                ("getCustomer", "/customers/bob", None, alice),
                ("listOrders", "/orders?customer_id=bob", None, alice),
                ("getOrder", "/orders/o-1001", None, alice),
                ("cancelOrder", "/orders/o-1001/cancel", None, alice)]:
            checker.send(server, operation_id, target, body, headers, expect=404)
    finally:
        if problem := server.stop():
            checker.fail(problem)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="the ordersd executable")
    parser.add_argument("--description", required=True, help="api/openapi.yaml")
    args = parser.parse_args()
    started = time.monotonic()
    document = load_description(args.description)
    checker = Checker(document)
    checker.check_examples()

    with tempfile.TemporaryDirectory(prefix="openapi-conformance-") as directory:
        os.makedirs(os.path.join(directory, "open"))
        server = Server(args.binary, os.path.join(directory, "open"), ["--step-timeout", "1000", "--step-attempts", "1"])
        try:
            served = server.request("GET", "/openapi.json")
            if served.status != 200 or served.headers.get("content-type") != "application/json":
                checker.fail(f"GET /openapi.json -> {served.status} {served.headers.get('content-type')}")
            elif served.json() != document:
                checker.fail("GET /openapi.json is not api/openapi.yaml as the build converts it: rebuild the server")
            walk(checker, server)
            rest_of_story(checker, server)
            replays(checker, server)
            error_cases(checker, server)
        finally:
            if problem := server.stop():
                checker.fail(problem)
        os.makedirs(os.path.join(directory, "secured"))
        access(checker, args.binary, os.path.join(directory, "secured"))

    uncalled = set(checker.operations) - checker.called
    if uncalled:
        checker.fail(f"operations never called: {sorted(uncalled)}")
    seconds = time.monotonic() - started
    print(f"openapi_conformance: {len(checker.operations)} operations, {checker.checks} checks, "
          f"{len(checker.failures)} failures, {seconds:.1f} s")
    sys.exit(1 if checker.failures else 0)


if __name__ == "__main__":
    main()

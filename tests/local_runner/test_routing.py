"""Route templates: syntax, constraints, case-insensitive literals and precedence."""

from __future__ import annotations

import itertools

import pytest

from local_runner.routing import Router, join_route, parse_template


def match(template: str, path: str) -> dict[str, str] | None:
    return parse_template(template).match(path)


def test_parameters_and_literals() -> None:
    assert match("api/requests/{batchId}", "/api/requests/b-1") == {"batchId": "b-1"}
    assert match("api/requests/{batchId}", "/API/Requests/b-1") == {"batchId": "b-1"}
    assert match("api/requests/{batchId}", "/api/requests") is None
    assert match("api/requests/{batchId}", "/api/requests/a/b") is None
    assert match("api/requests/{batchId}", "/api/requests/b-1/") == {"batchId": "b-1"}  # trailing slash


def test_values_are_percent_decoded() -> None:
    assert match("api/items/{name}", "/api/items/a%20b") == {"name": "a b"}
    assert match("api/items/{name}", "/api/items/a%2Fb") == {"name": "a/b"}


@pytest.mark.parametrize(("constraint", "good", "bad"), [
    ("int", ["1", "-42", "2147483647"], ["a", "1.5", "2147483648"]),
    ("alpha", ["abc", "ABC"], ["ab1", "a-b"]),
    ("guid", ["0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5bd9cb469fa16570867728950e",
              "{0f8fad5b-d9cb-469f-a165-70867728950e}"], ["0f8fad5b", "zzzzzzzz-d9cb-469f-a165-70867728950e"]),
    ("bool", ["true", "False"], ["yes"]),
    ("min(10)", ["10", "11"], ["9", "x"]),
    ("range(1,3)", ["1", "3"], ["0", "4"]),
    ("length(2)", ["ab"], ["a", "abc"]),
    ("regex(^[a-c]+$)", ["abc"], ["abd"]),
    ("someUnknownConstraint", ["anything"], []),
])
def test_constraints(constraint: str, good: list[str], bad: list[str]) -> None:
    template = f"api/x/{{value:{constraint}}}"
    for value in good:
        assert match(template, f"/api/x/{value}") == {"value": value}, value
    for value in bad:
        assert match(template, f"/api/x/{value}") is None, value


def test_several_constraints() -> None:
    assert match("x/{id:int:min(5)}", "/x/5") == {"id": "5"}
    assert match("x/{id:int:min(5)}", "/x/4") is None


def test_optional_and_default() -> None:
    assert match("api/hello/{name?}", "/api/hello") == {}
    assert match("api/hello/{name?}", "/api/hello/bob") == {"name": "bob"}
    assert match("api/page/{n:int?}", "/api/page/x") is None
    assert match("api/page/{n=1}", "/api/page") == {"n": "1"}
    assert match("api/page/{n=1}", "/api/page/7") == {"n": "7"}


def test_catch_all() -> None:
    assert match("api/files/{*path}", "/api/files/a/b%20c/d.txt") == {"path": "a/b c/d.txt"}
    assert match("api/files/{**path}", "/api/files/a") == {"path": "a"}
    assert match("api/files/{*path}", "/api/files") == {}
    assert match("api/files/{*path}", "/api/other/a") is None


def test_complex_segment() -> None:
    assert match("api/f/{name}.{ext}", "/api/f/report.v2.pdf") == {"name": "report", "ext": "v2.pdf"}
    assert match("api/f/{name}.{ext}", "/api/f/report") is None


@pytest.mark.parametrize("template", [
    "api/{a}{b}", "api/{*rest}/more", "api/{x?}/fixed", "api/{id}/{id}", "api/{", "api/}", "api//x",
    "api/{x:range(1)}", "api/{*x?}",
])
def test_invalid_templates(template: str) -> None:
    with pytest.raises(ValueError):
        parse_template(template)


def test_join_route() -> None:
    assert join_route("api", "hello") == "api/hello"
    assert join_route("", "/hello/") == "hello"
    assert join_route("/v1/", "x/{id}") == "v1/x/{id}"


ROUTES = [
    ("api/outbound-logs/{id}", "by_id"),
    ("api/outbound-logs/page", "page"),
    ("api/requests/{batchId}", "detail"),
    ("api/requests/{batchId}/replay", "replay"),
    ("api/items/{id:int}", "int_item"),
    ("api/items/{name}", "any_item"),
    ("api/{*rest}", "fallback"),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(ROUTES))))[::997])
def test_precedence_does_not_depend_on_registration_order(order: tuple[int, ...]) -> None:
    router: Router[str] = Router()
    for index in order:
        template, target = ROUTES[index]
        router.add(template, None, target)

    def target(path: str) -> str | None:
        found = router.match("GET", path)
        return found.route.target if found else None

    assert target("/api/outbound-logs/page") == "page"
    assert target("/api/Outbound-Logs/PAGE") == "page"
    assert target("/api/outbound-logs/42") == "by_id"
    assert target("/api/requests/b1") == "detail"
    assert target("/api/requests/b1/replay") == "replay"
    assert target("/api/items/12") == "int_item"
    assert target("/api/items/twelve") == "any_item"
    assert target("/api/anything/else") == "fallback"


def test_method_filter_falls_through_and_unmatched_method_is_no_match() -> None:
    router: Router[str] = Router()
    router.add("api/things/special", ["POST"], "special")
    router.add("api/things/{id}", ["GET"], "by_id")
    found = router.match("GET", "/api/things/special")
    assert found is not None and found.route.target == "by_id" and found.params == {"id": "special"}
    assert router.match("DELETE", "/api/things/special") is None
    assert router.path_exists("/api/things/special")
    assert not router.path_exists("/api/nothing")

"""The package has no import cycle, counting every import grimp sees (function-level and
``TYPE_CHECKING`` ones too): the layers contract (pyproject.toml) orders the packages, this
keeps the modules inside each package in order as well. Where two modules need each other, the
lower one names what it needs as a small ``Protocol`` (``kubedrift.sidecar.upstream``)."""

from __future__ import annotations

import grimp


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components of more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_finder_reports_a_cycle_and_only_the_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}

    assert strongly_connected(edges) == [["a", "b", "c"]]


def test_no_module_of_the_package_or_its_dev_tools_imports_itself_back() -> None:
    graph = grimp.build_graph("kubedrift", "kubedrift_dev", cache_dir=None)
    edges = {
        module: graph.find_modules_directly_imported_by(module) & graph.modules
        for module in graph.modules
    }

    assert strongly_connected(edges) == []

"""Sources and targets as a DAG: topological order, cycles, selection, downstream closure."""

from __future__ import annotations

import graphlib
from dataclasses import dataclass

from mldata.errors import ConfigError, UsageError
from mldata.spec import ProjectSpec


@dataclass(frozen=True)
class Graph:
    """The target graph. ``deps[t]`` are the targets t reads (sources are leaves, not nodes)."""

    order: tuple[str, ...]  # targets in a topological order, stable by declaration order
    deps: dict[str, tuple[str, ...]]
    dependents: dict[str, tuple[str, ...]]

    @staticmethod
    def from_spec(spec: ProjectSpec) -> "Graph":
        """Build the graph; a cycle is a ConfigError that names the loop."""
        deps = {name: tuple(i for i in t.inputs if i in spec.targets) for name, t in spec.targets.items()}
        sorter = graphlib.TopologicalSorter(deps)
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = exc.args[1]
            first = spec.targets[cycle[0]]
            raise ConfigError(
                "dependency cycle: " + " -> ".join(reversed(cycle)),
                hint="a target cannot depend on itself, directly or through others",
                location=first.where,
            ) from None
        # Kahn's algorithm, picking ready targets in declaration order, so the order is stable.
        declared = list(spec.targets)
        remaining = {n: set(d) for n, d in deps.items()}
        order: list[str] = []
        while remaining:
            ready = [n for n in declared if n in remaining and not remaining[n]]
            for n in ready:
                del remaining[n]
                for other in remaining.values():
                    other.discard(n)
            order.extend(ready)
        dependents: dict[str, list[str]] = {n: [] for n in deps}
        for n in order:
            for d in deps[n]:
                dependents[d].append(n)
        return Graph(tuple(order), deps, {n: tuple(v) for n, v in dependents.items()})

    def upstream(self, names: set[str]) -> set[str]:
        """The given targets and everything they transitively read."""
        return _closure(names, self.deps)

    def downstream(self, names: set[str]) -> set[str]:
        """The given targets and everything that transitively reads them."""
        return _closure(names, self.dependents)

    def select(self, patterns: list[str] | tuple[str, ...], exclude: list[str] | tuple[str, ...] = ()) -> list[str]:
        """Targets named on the command line plus their upstream, in build order.

        ``name`` selects the target and the targets it reads, transitively (as make does: a target
        is never built from stale inputs); ``+name`` says the same explicitly; ``name+`` adds
        everything downstream. No patterns: all targets. ``exclude`` removes targets (and, with
        ``name+``, their downstream) from the selection; excluded upstream targets are used as
        they are.
        """
        chosen = set(self.order) if not patterns else self._chosen(patterns)
        if exclude:
            dropped = self._names(exclude)
            for pattern in exclude:
                if pattern.endswith("+"):
                    dropped |= self.downstream({pattern.strip("+")})
            chosen -= dropped
        return [n for n in self.order if n in chosen]

    def _names(self, patterns: list[str] | tuple[str, ...]) -> set[str]:
        names = set()
        for pattern in patterns:
            name = pattern.strip("+")
            self._check(name)
            names.add(name)
        return names

    def _check(self, name: str) -> None:
        if name not in self.deps:
            import difflib

            near = difflib.get_close_matches(name, list(self.order), n=1)
            raise UsageError(
                f"unknown target {name!r}",
                hint=(f"did you mean {near[0]!r}? " if near else "")
                + f"targets: {', '.join(self.order) or 'none'}",
            )

    def _chosen(self, patterns: list[str] | tuple[str, ...]) -> set[str]:
        chosen: set[str] = set()
        for pattern in patterns:
            name = pattern.strip("+")
            self._check(name)
            base = {name}
            if pattern.endswith("+"):
                base = self.downstream(base)
            chosen |= self.upstream(base)
        return chosen

    def to_dot(self, spec: "ProjectSpec") -> str:
        """Graphviz DOT: sources as boxes, targets as ellipses, edges from input to reader."""
        lines = ["digraph mldata {", "  rankdir=LR;"]
        for name, src in spec.sources.items():
            lines.append(f'  "{name}" [shape=box, label="{name}\\n{src.path}"];')
        for name in self.order:
            lines.append(f'  "{name}" [shape=ellipse];')
        for name in self.order:
            for inp in spec.targets[name].inputs:
                lines.append(f'  "{inp}" -> "{name}";')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self, spec: "ProjectSpec") -> str:
        """A Mermaid flowchart (renders in GitHub markdown)."""
        ids = {name: f"n{i}" for i, name in enumerate([*spec.sources, *self.order])}
        lines = ["flowchart LR"]
        for name, src in spec.sources.items():
            lines.append(f'  {ids[name]}[("{name}: {src.path}")]')
        for name in self.order:
            lines.append(f'  {ids[name]}["{name}"]')
        for name in self.order:
            for inp in spec.targets[name].inputs:
                lines.append(f"  {ids[inp]} --> {ids[name]}")
        return "\n".join(lines) + "\n"


def _closure(names: set[str], edges: dict[str, tuple[str, ...]]) -> set[str]:
    """``names`` and every node reachable from them along ``edges``."""
    out: set[str] = set()
    stack = list(names)
    while stack:
        n = stack.pop()
        if n not in out:
            out.add(n)
            stack.extend(edges[n])
    return out

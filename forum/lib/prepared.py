"""Queries asked on every page, built by the ORM once per process and run again with new values.

The ORM spends a millisecond or more building a query with a few subqueries,
far more than the database spends answering it. A prepared query is made
from a `.values(...)` queryset once, with stand-in values for its parameters,
and then runs the same SQL the ORM would send with the real values, its
columns converted as the ORM converts them (SQLite's text to aware
datetimes, 0/1 to booleans).
"""

from collections.abc import Callable
from functools import cache, cached_property

from django.db import connections, router
from django.db.models import Func, QuerySet, Subquery

# Stand-ins no real value equals: ids are positive, and no text starts with a NUL.
_STAND_IN_ID = -7_000_001


def _stand_in(index: int, kind: type) -> int | str:
    return _STAND_IN_ID - index if kind is int else f"\0stand-in-{index}"


class Prepared:
    """`build(**stand_ins)` gives a `.values(...)` queryset; `row(**values)` and `rows(**values)` run it
    with the real values.

    Each parameter is an id (int) or a text (str), named in `parameters`.
    """

    def __init__(self, build: Callable[..., QuerySet], **parameters: type) -> None:
        self.build, self.parameters = build, parameters

    def _stand_ins(self) -> dict[str, int | str]:
        return {name: _stand_in(index, kind) for index, (name, kind) in enumerate(self.parameters.items())}

    @cached_property
    def model(self):
        return self.build(**self._stand_ins()).model

    @cache  # noqa: B019  (module-level queries, one SQL per database backend, kept for the process)
    def _compiled(self, vendor: str) -> tuple[str, list, dict[int, str], list[str], dict]:
        stand_ins = self._stand_ins()
        compiler = self.build(**stand_ins).query.get_compiler(connection=connections[self._alias()])
        sql, params = compiler.as_sql()
        names = {value: name for name, value in stand_ins.items()}
        slots = {index: names[param] for index, param in enumerate(params) if param in names}
        if set(slots.values()) != set(stand_ins):
            raise ValueError(f"not every parameter reached the SQL: {sorted(stand_ins)}")
        # A field's column has no alias: it is named by the field (author_id for author).
        columns = [alias or expression.target.attname for expression, _sql, alias in compiler.select]
        converters = compiler.get_converters([expression for expression, _sql, _alias in compiler.select])
        return sql, list(params), slots, columns, converters

    def _alias(self) -> str:
        """Where its reads go: the primary, or a replica when the request allows (forum/lib/replicas.py)."""
        return router.db_for_read(self.model)

    def row(self, **values) -> dict | None:
        """The first row, by column name, converted; or None."""
        found = self._run(values, one=True)
        columns = self._compiled(connections[self._alias()].vendor)[3]
        return dict(zip(columns, found[0], strict=True)) if found else None

    def rows(self, **values) -> list[tuple]:
        """Every row, its columns in the queryset's order, converted."""
        return self._run(values, one=False)

    def _run(self, values: dict, one: bool) -> list[tuple]:
        connection = connections[self._alias()]
        sql, params, slots, _columns, converters = self._compiled(connection.vendor)
        params = [values[slots[index]] if index in slots else param for index, param in enumerate(params)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = [row for row in [cursor.fetchone()] if row is not None] if one else cursor.fetchall()
        if not converters:
            return found
        converted = []
        for row in found:
            row = list(row)
            for index, (functions, expression) in converters.items():
                for convert in functions:
                    row[index] = convert(row[index], expression, connection)
            converted.append(tuple(row))
        return converted


def count_of(queryset: QuerySet) -> Subquery:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY: one row), to annotate another query with."""
    return Subquery(queryset.order_by().annotate(n=Func("pk", function="COUNT")).values("n"))

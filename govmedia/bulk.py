"""Many rows into one table through PostgreSQL's COPY, in the caller's transaction.

An inventory import writes tens of thousands of accounts, events, filings, outbox rows and
audit entries; COPY takes them several times faster than a multi-row INSERT (issue 13: an
import of 100,000 rows within 3x a bare COPY of the same rows). Values go through each
column's own bind processing (UTC datetimes, JSON), as an INSERT of the same rows would.

COPY's binary format when every column has a type below (psycopg packs those rows about
three times quicker than text); else the text format.
"""
from itertools import chain
from operator import itemgetter

from sqlalchemy import Table, text

from .extensions import db

# Below this many rows a plain INSERT is as quick and simpler to read in a log.
COPY_FROM = 100

# Column types sent in binary (a jsonb column makes the COPY text). A json value the caller
# serialised (as_text) goes as text: a json value's binary form is its text.
_BINARY = {"int2", "int4", "int8", "bool", "date", "timestamptz", "varchar", "text", "json"}


def copy_rows(table: Table, rows, connection=None, as_text=()) -> int:
    """COPY `rows` (dicts with the same keys; any iterable, consumed as it is written) into
    `table` on the session's connection (or `connection`, a Core connection), inside its
    transaction. Returns the number of rows. `as_text`: columns whose values are already the
    database's text of the value (a JSON document serialised by the caller), written as they
    are."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    rows = chain([first], rows)
    conn = connection if connection is not None else db.session.connection()
    dialect = conn.dialect
    columns = list(first)
    processors = [None if name in as_text else
                  table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in columns]
    types = column_types(conn, table.name)
    binary = ["text" if name in as_text else types.get(name) for name in columns]
    binary = binary if all(kind in _BINARY for kind in binary) else None
    quote = dialect.identifier_preparer.quote
    statement = (f"COPY {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
                 f"FROM STDIN{' (FORMAT BINARY)' if binary else ''}")
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    processed = [(index, process) for index, process in enumerate(processors)
                 if process is not None]
    count = 0
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            if binary:
                copy.set_types(binary)
            for row in rows:
                if processed:
                    row = list(values(row))
                    for index, process in processed:
                        row[index] = process(row[index])
                    copy.write_row(row)
                else:
                    copy.write_row(values(row))
                count += 1
    return count


def column_types(connection, table_name: str) -> dict:
    """{column: PostgreSQL type name} of a table (in the connection's search path)."""
    return dict(connection.execute(text(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass(:table) AND a.attnum > 0 AND NOT a.attisdropped"),
        {"table": table_name}).all())

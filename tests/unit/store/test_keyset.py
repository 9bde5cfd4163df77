"""keyset_page: every row once, newest first, ties broken by id, foreign cursors refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shiplane.domain.pagination import InvalidCursorError, encode_position
from shiplane.store.keyset import MAX_PAGE, Keyset, keyset_page, page_size
from shiplane.store.models import UTCDateTime


class _Base(DeclarativeBase):
    pass


class Row(_Base):
    __tablename__ = "rows"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    tag: Mapped[str] = mapped_column(String)


KEYSET = Keyset("rows", (Row.at, Row.id), (datetime, str))
T0 = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as s:
        # Three rows share each instant: the id decides their order.
        for i in range(12):
            s.add(
                Row(
                    id=f"r{i:02d}",
                    at=T0 + timedelta(minutes=i // 3),
                    tag="odd" if i % 2 else "even",
                )
            )
        s.commit()
        yield s


def _all_pages(s: Session, **kw: object) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        rows, cursor = keyset_page(s, select(Row), KEYSET, cursor=cursor, limit=5, **kw)  # type: ignore[arg-type]
        pages.append([r.id for r in rows])
        if cursor is None:
            return pages


def test_pages_cover_every_row_once_newest_first(session: Session) -> None:
    pages = _all_pages(session)
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [row for page in pages for row in page] == [f"r{i:02d}" for i in reversed(range(12))]


def test_rows_filtered_in_python_still_fill_pages(session: Session) -> None:
    pages = _all_pages(session, keep=lambda r: r.tag == "odd", overfetch=2)
    assert [row for page in pages for row in page] == ["r11", "r09", "r07", "r05", "r03", "r01"]
    assert [len(p) for p in pages] == [5, 1]


def test_cursors_of_other_listings_or_shapes_are_refused(session: Session) -> None:
    for cursor in (encode_position("audit", [T0, "r01"]), encode_position("rows", [7])):
        with pytest.raises(InvalidCursorError):
            keyset_page(session, select(Row), KEYSET, cursor=cursor, limit=5)
    assert (page_size(0), page_size(10_000)) == (1, MAX_PAGE)

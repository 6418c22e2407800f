"""The write-ahead log hands the writer thread what this process appended from memory; what it hands
over must be exactly what the file gives a later process (a sweep, the next attempt)."""

from __future__ import annotations

import pytest
from trainyard_client import wal
from trainyard_client.spill import Op
from trainyard_runstore import rows
from trainyard_runstore.schema import Checkpoint, Episode, utcnow

pytestmark = pytest.mark.unit


def _append(log: wal.WriteAheadLog, first: int, last: int) -> None:
    for n in range(first, last + 1):
        ep = Episode(episode=n, total_reward=n / 3, steps=n, win=n % 2 == 0, time=utcnow(),
                     metrics={"score": float(n)} if n % 5 == 0 else {})
        op = Op("episode", rows.of(ep))
        log.append_line((op.to_json() + "\n").encode(), op.payload)
        if n % 7 == 0:  # other ops between the episodes are read back from their lines
            log.append(Op("checkpoint", Checkpoint(episode=n, timestep=n * 10, path=f"/c/{n}.zip", time=utcnow())))
            log.append(Op("status", {"status": "running", "time": utcnow().isoformat()}))


def _as_records(ops: list[Op]) -> list[tuple[str, object, int]]:
    return [(op.kind, op.payload, op.segment) for op in ops]


def test_what_the_writer_takes_from_memory_is_what_the_file_holds(tmp_path, monkeypatch):
    log = wal.WriteAheadLog(tmp_path)
    _append(log, 1, 60)
    taken, end = log.read(log.committed, 40)
    assert log._take_recent(log.committed, 40) is not None  # noqa: SLF001 - this read came from memory
    from_file, file_end = wal.WriteAheadLog(tmp_path, create=False).read(log.committed, 40)
    assert end == file_end and _as_records(taken) == _as_records(from_file)
    assert [op.kind for op in taken[:8]] == ["episode"] * 7 + ["checkpoint"]

    log.commit(end)  # the rest, from memory again after the commit
    rest, rest_end = log.read(log.committed, 10_000)
    from_file, _ = wal.WriteAheadLog(tmp_path, create=False).read(end, 10_000)
    assert rest_end == log.end() and _as_records(rest) == _as_records(from_file)
    assert [op.payload[rows.EPISODE] for op in taken + rest if op.kind == "episode"] == list(range(1, 61))
    log.close()


def test_a_writer_far_behind_takes_the_oldest_lines_from_memory_and_the_rest_from_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(wal, "RECENT_LIMIT", 10)  # the database was away, or the trainer logs faster than it writes
    log = wal.WriteAheadLog(tmp_path)
    _append(log, 1, 30)
    first, end = log.read(log.committed, 100)
    assert len(first) == 10  # memory kept the oldest lines, which the writer needs first
    assert _as_records(first) == _as_records(wal.WriteAheadLog(tmp_path, create=False).read(log.committed, 10)[0])
    log.commit(end)
    assert log._take_recent(log.committed, 100) is None  # noqa: SLF001 - the newer lines were left to the file
    rest, rest_end = log.read(end, 100)
    assert rest_end == log.end()
    assert [op.payload[rows.EPISODE] for op in first + rest if op.kind == "episode"] == list(range(1, 31))
    log.commit(rest_end)
    _append(log, 31, 35)  # once the writer took all it held, memory keeps lines again
    again, _ = log.read(log.committed, 100)
    assert log._take_recent(rest_end, 100) is not None  # noqa: SLF001
    assert [op.payload[rows.EPISODE] for op in again if op.kind == "episode"] == [31, 32, 33, 34, 35]
    log.close()


@pytest.mark.timeout(60)
def test_a_fully_written_segment_past_the_roll_size_gives_way_to_a_new_one(tmp_path, monkeypatch):
    """A long run's log rolls over once the writer has caught up (every 8 MB, about 50,000 episodes).
    The roll used to take the log's lock twice and hang the writer thread: nothing more reached the
    database, and close() never returned."""
    monkeypatch.setattr(wal, "ROLL_BYTES", 2_000)
    log = wal.WriteAheadLog(tmp_path)
    first_segment = log.current
    _append(log, 1, 30)
    ops, end = log.read(log.committed, 10_000)
    log.commit(end)
    assert log.current == first_segment + 1 and log.committed == wal.Position(log.current, 0)
    assert wal.segments(tmp_path) == [log.current]
    _append(log, 31, 35)  # the next ops go to the new segment, and only they are left to write
    rest, _ = log.read(log.committed, 10_000)
    assert [op.payload[rows.EPISODE] for op in rest if op.kind == "episode"] == [31, 32, 33, 34, 35]
    assert wal.read_committed(tmp_path)["segment"] == log.current
    log.close()


def test_episode_lines_read_back_as_the_rows_they_were_written_from_and_a_bad_line_is_skipped_alone():
    """Runs of episode lines are parsed straight into rows (no validation: the logger wrote them from
    validated episodes); a line that lacks a field or was torn by a kill costs only itself."""
    import math

    from trainyard_client import spill

    eps = [Episode(episode=1, total_reward=0.5, steps=3, win=True, time=utcnow(), metrics={"b": 2.0, "a": 1.0}),
           Episode(episode=2, total_reward=math.nan, steps=0, epsilon=math.inf),  # written by the json path
           Episode(episode=3, total_reward=-2.0, steps=5, timestep=40, win_rate=0.25)]
    lines = [Op("episode", rows.of(e)).to_json().encode() for e in eps]
    bad = [b'{"op":"episode","data":{"total_reward":1.0,"steps":1}}',  # no episode number
           b'{"op":"episode","data":{"episode":9,"total_rew']  # torn
    ops = spill.parse_lines([lines[0], bad[0], lines[1], bad[1], lines[2]])
    assert [op.payload[rows.EPISODE] for op in ops] == [1, 2, 3]
    assert ops[0].payload == rows.of(eps[0]) and ops[2].payload == rows.of(eps[2])
    back = rows.episode(ops[1].payload)
    assert math.isnan(back.total_reward) and back.epsilon == math.inf and back.steps == 0
    assert rows.episode(ops[0].payload).metrics == {"a": 1.0, "b": 2.0}

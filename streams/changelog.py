"""A processor's changelog: each partition's memory as keyed entries, its checkpoints and its
input-order journal, in one compacted topic co-partitioned with the processor's inputs.

Partition p of the changelog holds what the stage of input partition p remembers
(`streams.memory` makes the entries) and two kinds of bookkeeping records, under keys that
start with a zero byte so they never meet an entry's key:

- **Checkpoints.** A checkpoint makes the entries changed since the last one durable, with the
  input position they stand at (the next offset of each input topic). It is written as one
  value, in pieces under `\\0checkpoint/<number % 2>/<piece>`, then the entries one by one. A
  restore takes the latest checkpoint whose pieces are all there and lays its changes over the
  entries, so a crash between the pieces and the entries loses nothing, and a crash among the
  pieces leaves the previous checkpoint (the other parity's keys) whole.
- **Journal.** Under at-least-once, before a batch's outputs are published, the order in which
  the batch's records were taken (runs of one input topic: first and last offset) is written
  under `\\0journal/<sequence>`, tagged with the checkpoint it follows. A worker that restores the
  partition takes the records after the checkpoint in the journal's order, not in the order
  the broker happens to deliver them now, so what it publishes again equals what was published.

Values are msgpack (msgspec), with fields by name (docs/CONTRACTS.md, "Processor state").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

__all__ = [
    "Recovered",
    "Run",
    "checkpoint_records",
    "fold",
    "journal_record",
]

PIECE = 512 * 1024  # a changelog record stays under the broker's 1 MiB message limit

_CHECKPOINT = b"\x00checkpoint/"
_JOURNAL = b"\x00journal/"

Run = tuple[str, int, int]  # an input topic (unprefixed), the first and last offset taken


class _Checkpoint(msgspec.Struct, forbid_unknown_fields=False):
    number: int
    position: dict[str, int]
    puts: dict[bytes, bytes]
    removed: list[bytes]


class _Piece(msgspec.Struct, forbid_unknown_fields=False):
    number: int
    index: int
    count: int
    data: bytes


class _Journal(msgspec.Struct, forbid_unknown_fields=False):
    follows: int  # the checkpoint number the runs start after
    sequence: int
    runs: list[Run]


_encode = msgspec.msgpack.Encoder().encode
_pieces = msgspec.msgpack.Decoder(_Piece).decode
_checkpoint = msgspec.msgpack.Decoder(_Checkpoint).decode
_journal = msgspec.msgpack.Decoder(_Journal).decode


def checkpoint_records(
    number: int,
    position: dict[str, int],
    puts: dict[bytes, bytes],
    removed: list[bytes],
) -> list[tuple[bytes, bytes | None]]:
    """The records of checkpoint `number`, in the order they must be written: its pieces,
    then each entry set (key, value) or removed (key, None)."""
    data = _encode(_Checkpoint(number, position, puts, removed))
    count = max(1, -(-len(data) // PIECE))
    parity = b"%d/" % (number % 2)
    records: list[tuple[bytes, bytes | None]] = [
        (
            _CHECKPOINT + parity + b"%d" % index,
            _encode(_Piece(number, index, count, data[index * PIECE : (index + 1) * PIECE])),
        )
        for index in range(count)
    ]
    records += puts.items()
    records += [(key, None) for key in removed]
    return records


def journal_record(follows: int, sequence: int, runs: list[Run]) -> tuple[bytes, bytes]:
    return _JOURNAL + b"%d" % sequence, _encode(_Journal(follows, sequence, runs))


@dataclass
class Recovered:
    """A partition's memory as the changelog holds it, and where its inputs stand."""

    entries: dict[bytes, bytes] = field(default_factory=dict)
    number: int = 0  # of the checkpoint restored; 0 before the first
    position: dict[str, int] = field(default_factory=dict)  # input topic → next offset
    journal: list[Run] = field(default_factory=list)  # runs taken after the checkpoint
    sequence: int = 0  # the next journal record's sequence number
    # The checkpoint's changes, to be written again with the next one: its entries may not
    # all have been written after its pieces.
    puts: dict[bytes, bytes] = field(default_factory=dict)
    removed: list[bytes] = field(default_factory=list)


def fold(records: Iterable[tuple[bytes | None, bytes | None]]) -> Recovered:
    """A changelog partition's records, oldest first, folded into what they hold."""
    entries: dict[bytes, bytes] = {}
    pieces: dict[int, dict[int, _Piece]] = {}  # by checkpoint number, by index
    journals: list[_Journal] = []
    for key, value in records:
        if key is None:
            continue
        if key.startswith(_CHECKPOINT):
            if value is not None:
                piece = _pieces(value)
                if piece.index == 0:  # a checkpoint's writing starts: an earlier try is void
                    pieces[piece.number] = {}
                pieces.setdefault(piece.number, {})[piece.index] = piece
        elif key.startswith(_JOURNAL):
            if value is not None:
                journals.append(_journal(value))
        elif value is None:
            entries.pop(key, None)
        else:
            entries[key] = value
    recovered = Recovered(entries)
    complete = [n for n, got in pieces.items() if 0 in got and len(got) == got[0].count]
    if complete:
        number = max(complete)
        got = pieces[number]
        checkpoint = _checkpoint(b"".join(got[index].data for index in range(len(got))))
        entries.update(checkpoint.puts)
        for key in checkpoint.removed:
            entries.pop(key, None)
        recovered.number, recovered.position = number, checkpoint.position
        recovered.puts, recovered.removed = checkpoint.puts, checkpoint.removed
    mine = sorted(
        (journal for journal in journals if journal.follows == recovered.number),
        key=lambda journal: journal.sequence,
    )
    # A sequence number is reused by later checkpoints' journals: the latest of each counts.
    latest = {journal.sequence: journal for journal in mine}
    recovered.journal = [
        (topic, first, last) for seq in sorted(latest) for topic, first, last in latest[seq].runs
    ]
    recovered.sequence = max(latest, default=-1) + 1
    return recovered

"""Audio and video (MP3, OGG, M4A, MP4): tags removed with mutagen where that is the whole story.

mutagen is pure Python, maintained for nearly two decades alongside the Quod Libet player, has no
dependencies, and removes tags from a file object in memory, so nothing is written to disk. The audio
and video data are not touched: no re-encoding, no loss.

- MP3: ID3v1, ID3v2 and APEv2 tags (title, artist, comments, pictures, recording dates, any private
  frame) are removed. What remains is the encoder's frame header, which identifies no one.
- OGG (Vorbis, Opus, FLAC, Speex): the comment header (any tag) is emptied. A file with more than one
  logical stream (chained or multiplexed) may carry comments in the others, so it is reported as
  keeping metadata.
- M4A and MP4: mutagen removes the iTunes-style tag list (title, artist, comments, cover), but not the
  rest of the container: creation and modification times of the movie and of each track, the
  recording location phones write (`©xyz`, Apple's `com.apple.quicktime.location.ISO6709` keys), the
  device make and model. No well-kept Python library rewrites those safely, so these files are always
  reported with `metadata_kept=True` and the reporter is told plainly that the file still carries them.
"""

from __future__ import annotations

import io
import logging

from mutagen import apev2, id3
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.ogg import OggPage
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggvorbis import OggVorbis

from reporter.evidence.scrubbing import Scrubbed, Unreadable

log = logging.getLogger(__name__)

_OGG_CODECS = (OggVorbis, OggOpus, OggFLAC, OggSpeex)


def _ogg_stream_count(data: bytes) -> int:
    serials: set[int] = set()
    source = io.BytesIO(data)
    while source.tell() < len(data):
        serials.add(OggPage(source).serial)
    return len(serials)


def _scrub_ogg(buffer: io.BytesIO) -> tuple[list[str], bool]:
    for codec in _OGG_CODECS:
        buffer.seek(0)
        try:
            recording = codec(buffer)
        except Exception:  # noqa: S112 - not this codec; the next one is tried, and none fitting is refused
            continue
        had_tags = bool(recording.tags)
        buffer.seek(0)
        recording.delete(buffer)
        several_streams = _ogg_stream_count(buffer.getvalue()) > 1
        return (["tags (title, artist, comments, dates)"] if had_tags else []), several_streams
    raise Unreadable("damaged", "no Vorbis, Opus, FLAC or Speex stream found")


def _mp3_tags_left(data: bytes) -> bool:
    return MP3(io.BytesIO(data)).tags is not None or data[-128:-125] == b"TAG" or b"APETAGEX" in data[-4096:]


def _scrub_mp3(buffer: io.BytesIO) -> tuple[list[str], bool]:
    had_tags = _mp3_tags_left(buffer.getvalue())
    # ID3v1 and APEv2 are both found by their position at the end of the file, so each may hide the
    # other: remove both in turn until nothing changes.
    for _ in range(4):
        before = buffer.getvalue()
        buffer.seek(0)
        id3.delete(buffer, delete_v1=True, delete_v2=True)
        buffer.seek(0)
        apev2.delete(buffer)
        if buffer.getvalue() == before:
            break
    removed = ["tags (title, artist, comments, pictures, dates)"] if had_tags else []
    return removed, _mp3_tags_left(buffer.getvalue())


def _scrub_mp4(buffer: io.BytesIO) -> tuple[list[str], bool]:
    recording = MP4(buffer)
    had_tags = bool(recording.tags)
    buffer.seek(0)
    recording.delete(buffer)
    return (["tags (title, artist, comments, cover)"] if had_tags else []), True


_SCRUBBERS = {"mp3": _scrub_mp3, "ogg": _scrub_ogg, "m4a": _scrub_mp4, "mp4": _scrub_mp4}


def scrub_recording(kind: str, data: bytes) -> Scrubbed:
    """Return the recording without its tags and whether container metadata stays; raise Unreadable."""
    buffer = io.BytesIO(data)
    try:
        removed, kept = _SCRUBBERS[kind](buffer)
    except Unreadable:
        raise
    except Exception as exc:
        # Hostile input can make any parser fail in any way; whatever the error, the file is refused.
        log.info("recording refused: %s", type(exc).__name__)
        raise Unreadable("damaged", f"the recording could not be read ({type(exc).__name__})") from exc
    return Scrubbed(buffer.getvalue(), removed, metadata_kept=kept)

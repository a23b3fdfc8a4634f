"""The detection kernel: raw samples in, movements and bed-state changes out, chunk by chunk.

One object per bed; :meth:`Engine.process` takes any number of samples and returns what became
known. The batch analyser and the live stream both call it, so they share every decision. All
schedules (ticks, blocks) are counted from the first sample, never from call boundaries, and every
value a decision depends on is computed with exact or element-wise arithmetic, so any chunking of
the same samples yields the same output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from .beats import BeatTracker
from .carry import Carried, from_bfloat16, pack_carried, to_bfloat16, unpack_carried
from .config import DetectorConfig
from .frontend import FrontEnd, FrontEndDesign
from .levels import BlockLevels
from .presence import Evidence, Presence, PresenceChange, periodicity
from .rolling import group_max, row_any, row_max, windows
from .segmenter import Movement, Segmenter, Thresholds
from .slowband import SlowBand

__all__ = ["Engine", "EngineOutput"]

_DECIMATE_TICKS = 5  # periodicity works on 0.1 s maxima
_PERIODIC_MIN = 0.3
_PERIODICITY_BLOCKS = 4  # window: the current block and three before it
_MAX_BEAT_S = 1.6  # longest beat interval searched (37.5 bpm)
_NO_CAP = float(2**60)  # cap of a block whose heartbeat level is not known yet
_FEW_TICKS = 256  # below this many ticks, reductions beat per-column passes


@dataclass(frozen=True, slots=True)
class EngineOutput:
    """What one call made known, in the order it became known (by tick).

    Attributes
    ----------
    items : list
        :class:`~detector.segmenter.Movement` and :class:`~detector.presence.PresenceChange`
        objects, sorted by the tick at which each was decided.
    """

    items: list[Movement | PresenceChange]


class Engine:
    """Streaming detection kernel for one bed.

    Parameters
    ----------
    fs_hz : float
        Sample rate.
    channels : int
        Number of channels.
    config : DetectorConfig
        Parameters.
    """

    __slots__ = (
        "_beats",
        "_block_dec",
        "_block_ticks",
        "_dec_hist",
        "_dec_part",
        "_evidence_queue",
        "_held",
        "_lags",
        "_levels",
        "_opening",
        "_presence",
        "_segmenter",
        "channels",
        "config",
        "design",
        "frontend",
        "slowband",
    )

    def __init__(self, fs_hz: float, channels: int, config: DetectorConfig) -> None:
        self.config = config
        self.design = FrontEndDesign(
            fs_hz,
            tick_s=config.tick_s,
            long_window_s=config.baseline_window_s,
            clip_level=config.clip_level,
        )
        self.frontend = FrontEnd(self.design, channels)
        self.channels = channels
        tick_hz = self.design.tick_hz
        self.slowband = SlowBand(
            channels,
            _odd(config.slow_short_s * tick_hz),
            _odd(config.slow_long_s * tick_hz),
            round(config.slow_hold_s * tick_hz),
        )
        raw_block = round(config.block_s * tick_hz)
        block_ticks = max(_DECIMATE_TICKS, raw_block // _DECIMATE_TICKS * _DECIMATE_TICKS)
        self._block_ticks = block_ticks
        self._levels = BlockLevels(
            3 * channels,
            round(config.level_window_s / config.block_s),
            max(1, round(config.warmup_s / config.block_s)),
            config.posture_reset_ratio,
            max(1, round(config.posture_reset_s / config.block_s)),
            floor_columns=channels,  # only the fast band's floor is used
        )
        self._segmenter = Segmenter(
            [
                Thresholds(
                    config.on_ratio,
                    config.off_ratio,
                    config.edge_fraction,
                    end_edge=config.edge_fraction * config.end_edge_scale,
                ),
                Thresholds(
                    config.high_on_ratio,
                    config.high_off_ratio,
                    config.edge_fraction,
                    end_edge=config.edge_fraction * config.end_edge_scale,
                ),
                Thresholds(
                    config.slow_on_ratio,
                    config.slow_off_ratio,
                    config.slow_edge_fraction,
                    erode=self.slowband.hold_ticks + self.slowband.short_ticks // 2,
                    end_edge=config.slow_edge_fraction * config.end_edge_scale,
                ),
            ],
            max(1, round(config.merge_gap_s * tick_hz)),
            round(config.blanking_s * tick_hz),
        )
        self._presence = Presence(
            block_ticks,
            max(1, round(config.presence_enter_s / config.block_s)),
            max(1, round(config.presence_exit_s / config.block_s)),
            round(60.0 * tick_hz),
        )
        # Carried state: the ticks of an unfinished 0.1 s group; then, as bfloat16 codes (block
        # statistics need two significant digits), the 0.1 s maxima of the unfinished block.
        self._dec_part: npt.NDArray[np.int32] = np.zeros((0, 3 * channels), np.int32)
        self._block_dec: npt.NDArray[np.uint16] = np.zeros((0, 3 * channels), np.uint16)
        dec_rows = _PERIODICITY_BLOCKS * block_ticks // _DECIMATE_TICKS
        self._dec_hist: npt.NDArray[np.uint16] = np.zeros((dec_rows, channels), np.uint16)
        radius = max(1, round(config.beat_peak_radius_s * tick_hz))
        self._beats = BeatTracker(
            radius,
            refractory=round(config.beat_refractory_s * tick_hz),
            min_interval=round(0.4 * tick_hz),
            max_interval=round(_MAX_BEAT_S * tick_hz),
            min_peak=config.beat_min_ratio,
            ceiling=config.on_ratio,
        )
        # Ticks held back until the beat tracker has seen ``radius`` ticks past them (columns
        # fast, high, slow, channel, clipped, floor), in float32: the segmenter rounds its ratios
        # to float32 anyway, and this halves the carried state.
        self._held: npt.NDArray[np.float32] = np.zeros((0, 6), np.float32)
        self._evidence_queue: list[tuple[int, Evidence]] = []  # (block, evidence) not yet merged
        # Beat intervals searched by the presence test, in 0.1 s steps (37.5-150 bpm).
        self._lags = (
            max(1, int(0.4 * tick_hz / _DECIMATE_TICKS)),
            int(np.ceil(_MAX_BEAT_S * tick_hz / _DECIMATE_TICKS)),
        )
        # Opening threshold of each envelope column (fast, high, slow bands; channels within).
        self._opening = np.repeat(
            [config.on_ratio, config.high_on_ratio, config.slow_on_ratio], channels
        )

    def __getstate__(self) -> tuple[Any, ...]:
        """Pickle only what changes with the data; the rest is rebuilt from the parameters."""
        own: Carried = (
            [self._dec_part, self._block_dec, self._dec_hist, self._held],
            tuple((block, ev.value) for block, ev in self._evidence_queue),
        )
        carried = pack_carried([*(stage.carry() for stage in self._stages()), own])
        return (self.design.fs_hz, self.channels, self.config, carried)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        fs_hz, channels, config, carried = state
        self.__init__(fs_hz, channels, config)  # type: ignore[misc]
        *parts, own = unpack_carried(carried)
        for stage, part in zip(self._stages(), parts, strict=True):
            stage.resume(*part)
        self._dec_part, self._block_dec, self._dec_hist, self._held = own[0]
        self._evidence_queue = [(block, Evidence(value)) for block, value in own[1]]

    def _stages(self) -> tuple[Any, ...]:
        """Return the stateful stages, in a fixed order (for pickling)."""
        return (
            self.frontend,
            self.slowband,
            self._levels,
            self._beats,
            self._segmenter,
            self._presence,
        )

    @property
    def block_ticks(self) -> int:
        """Ticks per level block (a multiple of the decimation factor)."""
        return self._block_ticks

    @property
    def in_bed(self) -> bool:
        """Current bed state."""
        return self._presence.in_bed

    def resume_in_bed(self) -> None:
        """Continue a bed state that was in force before this engine started."""
        self._presence.resume_in_bed()

    def process(self, samples: npt.NDArray[np.integer]) -> EngineOutput:
        """Feed raw samples ``(n, channels)``; return movements and bed changes now known."""
        ticks = self.slowband.process(self.frontend.process(samples))
        n = len(ticks)
        if n == 0:
            return EngineOutput([])
        bt = self.block_ticks
        per_block = bt // _DECIMATE_TICKS
        # 0.1 s maxima, then whole blocks of them (all on the absolute tick grid).
        block_start = ticks.first - len(self._dec_part) - len(self._block_dec) * _DECIMATE_TICKS
        block0 = block_start // bt
        grouped = np.concatenate([self._dec_part, ticks.envelope.astype(np.int32)])
        groups = len(grouped) // _DECIMATE_TICKS
        columns = grouped.shape[1]
        dec = group_max(grouped[: groups * _DECIMATE_TICKS], _DECIMATE_TICKS)
        self._dec_part = grouped[groups * _DECIMATE_TICKS :].copy()
        pending = np.concatenate([self._block_dec, to_bfloat16(dec.astype(np.float32))])
        complete = len(pending) // per_block
        block_codes = pending[: complete * per_block].reshape(complete, per_block, columns)
        blocks = from_bfloat16(block_codes).astype(np.int64)  # whole numbers, exactly
        self._block_dec = pending[complete * per_block :].copy()
        beat, floor = self._levels.advance(blocks)
        evidence = self._evidence(blocks, beat[:-1]) if complete else []
        tick_index = ticks.first + np.arange(n)
        rows = tick_index // bt - block0
        # Unknown (warming up) or zero levels judge nothing: divide by infinity instead. (No
        # division by zero remains, and comparisons with NaN are quietly false.)
        usable = np.where(np.isnan(beat) | (beat <= 0), np.inf, beat)
        ratio = ticks.envelope / usable[rows]
        floor_ratio = (
            np.where(np.isnan(floor), 0.0, floor)[rows, : self.channels]
            / usable[rows, : self.channels]
        )
        fresh = self._tick_columns(ratio, ticks.clipped, floor_ratio)
        held = np.concatenate([self._held, fresh])
        first = ticks.first - len(self._held)
        radius = self._beats.radius
        judged_n = max(0, len(held) - radius)
        openers = self._beats.flags(first, held[:, 0], held[:judged_n, 5])
        # An off-rhythm peak must also carry some of a muscle twitch's fast content.
        openers &= held[:judged_n, 1] >= self.config.beat_high_ratio
        judged = len(openers)
        self._held = held[judged:].copy()
        now = held[:judged]
        movements = self._segmenter.process(
            first, now[:, :3], now[:, 3].astype(np.intp), now[:, 4].astype(np.bool_), openers
        )
        self._evidence_queue += [(block0 + i, ev) for i, ev in enumerate(evidence)]
        return EngineOutput(self._merge(movements, horizon=first + judged))

    def _tick_columns(
        self,
        ratio: npt.NDArray[np.float64],
        clipped: npt.NDArray[np.bool_],
        floor_ratio: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float32]:
        """Per tick: the largest ratio of each band, the strongest channel, clipped, floor.

        The channel is the one with the largest ratio in any band (ties: the first). Small
        inputs (a live frame) take few reductions; large ones (batch) take one element-wise pass
        per column, which numpy runs much faster on narrow arrays. Both are exact.
        """
        n, c = len(ratio), self.channels
        out = np.empty((n, 6), np.float32)
        if n <= _FEW_TICKS:
            by_band = ratio.reshape(n, 3, c)
            out[:, :3] = by_band.max(axis=2)
            out[:, 3] = by_band.max(axis=1).argmax(axis=1)
            out[:, 4] = clipped.any(axis=1)
            out[:, 5] = floor_ratio.max(axis=1)
            return out
        for band in range(3):
            out[:, band] = row_max(ratio[:, band * c : (band + 1) * c])
        best = row_max(ratio[:, 0::c])
        channel = np.zeros(n, np.intp)
        for k in range(1, c):
            mine = row_max(ratio[:, k::c])
            channel[mine > best] = k
            np.maximum(best, mine, out=best)
        out[:, 3] = channel
        out[:, 4] = row_any(clipped)
        out[:, 5] = row_max(floor_ratio)
        return out

    def finish(self) -> EngineOutput:
        """End of data: flush the look-ahead with a flat tail, then close an open movement.

        The filters, the slow band and the heartbeat tracker hold back about 0.7 s; a copy of the
        last sample pushes it through, so nothing near the end of the data is lost. Where the real
        data stops, that tail is a step for the band-pass (mains hum, say, stops dead): a movement
        that starts within the band-pass's reach of the end is that step, and is left out.
        """
        last = self.frontend.last_sample
        if last is None:
            movements = self._segmenter.flush(self.slowband.next_tick)
            return EngineOutput(self._merge(movements, horizon=None))
        d = self.design
        # a movement's onset sample is first_tick * tick_samples + delay_samples
        reach = self.frontend.samples_seen - 2 * d.delay_samples
        held_ticks = self.slowband.delay + self._beats.radius + 1
        flat = d.long_samples + held_ticks * d.tick_samples
        items = self.process(np.repeat(last[np.newaxis], flat, axis=0)).items
        movements = self._segmenter.flush(self.slowband.next_tick)
        items += self._merge(movements, horizon=None)
        return EngineOutput(
            [
                i
                for i in items
                if not (isinstance(i, Movement) and i.first_tick * d.tick_samples >= reach)
            ]
        )

    def _evidence(
        self, blocks: npt.NDArray[np.int64], beat: npt.NDArray[np.float64]
    ) -> list[Evidence]:
        """Presence evidence of finished blocks (0.1 s maxima, all bands) and their levels."""
        k, per_block, _ = blocks.shape
        c = self.channels
        # (comparisons with NaN, a level not known yet, are simply false)
        moving = (blocks.max(axis=1) >= self._opening * beat).any(axis=1)
        # Movements would swamp the autocorrelation: cap each block at twice its heartbeat.
        fast_beat = beat[:, :c]
        cap = np.where(np.isnan(fast_beat), _NO_CAP, 2.0 * fast_beat).astype(np.int64)
        capped = np.minimum(blocks[:, :, :c], cap[:, np.newaxis, :])
        codes = to_bfloat16(capped.reshape(k * per_block, c).astype(np.float32))
        series = np.concatenate([self._dec_hist, codes])
        rows = len(self._dec_hist)
        self._dec_hist = series[-rows:].copy()
        history = from_bfloat16(series).astype(np.int64)  # whole numbers, exactly
        # A moving block's evidence is unknown whatever its rhythm: only still blocks are tested.
        still = np.flatnonzero(~moving)
        out = [Evidence.UNKNOWN] * k
        if len(still):
            if k == 1:  # the live path: the window is the history's tail
                view = history[np.newaxis, -rows:]
            else:
                view = windows(history, rows)[per_block::per_block][still]  # (still, rows, c)
            strength = periodicity(
                np.swapaxes(view, 1, 2).reshape(len(still) * c, rows), *self._lags
            )
            periodic = strength.reshape(len(still), c).max(axis=1) >= _PERIODIC_MIN
            flags = cast(list[bool], periodic.tolist())
            for i, is_periodic in zip(cast(list[int], still.tolist()), flags, strict=True):
                out[i] = Evidence.PRESENT if is_periodic else Evidence.ABSENT
        return out

    def _merge(
        self, movements: list[Movement], horizon: int | None
    ) -> list[Movement | PresenceChange]:
        """Interleave movements and block evidence in decision order (chunking-independent).

        A block's evidence is decided at its last tick, a movement at its ``decided_tick``. The
        segmenter lags the blocks (it waits for the heartbeat tracker's look-ahead), so evidence
        waits in a queue until the segmenter has passed its block (``horizon``: the first tick it
        has not judged yet; None releases everything). Then both are taken in tick order.
        """
        bt = self.block_ticks
        ready = [
            (block, ev)
            for block, ev in self._evidence_queue
            if horizon is None or (block + 1) * bt <= horizon
        ]
        self._evidence_queue = self._evidence_queue[len(ready) :]
        keyed: list[tuple[int, int, Movement | tuple[int, Evidence]]] = [
            (m.decided_tick, 0, m) for m in movements
        ]
        keyed += [((block + 1) * bt, 1, (block, ev)) for block, ev in ready]
        keyed.sort(key=lambda item: (item[0], item[1]))
        out: list[Movement | PresenceChange] = []
        gross_ticks = self.config.gross_min_s * self.design.tick_hz
        for _, _, item in keyed:
            if isinstance(item, Movement):
                if item.last_tick - item.first_tick + 1 > gross_ticks:
                    self._presence.note_movement(item.first_tick, item.last_tick)
                out.append(item)
            else:
                change = self._presence.add_block(*item)
                if change is not None:
                    out.append(change)
        return out


def _odd(ticks: float) -> int:
    """Nearest odd whole number of ticks (at least 1)."""
    n = max(1, round(ticks))
    return n if n % 2 else n + 1
